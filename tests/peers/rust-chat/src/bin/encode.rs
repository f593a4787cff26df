//! Prints serde_json's serialization of the messages described on stdin,
//! one per line, so that a test can compare another program's bytes with
//! serde_json's. Each input line is a kind and its strings in hex (UTF-8):
//!
//! ```text
//! User 616c696365                 -> {"User":"alice"}
//! ClientMessage 6869              -> {"ClientMessage":"hi"}
//! Chat 616c696365 6869            -> {"Chat":{"user":"alice","content":"hi"}}
//! ```
use rust_chat_peers::Message;
use std::io::{BufRead, Write};

fn unhex(text: &str) -> String {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
        .collect();
    String::from_utf8(bytes).expect("UTF-8")
}

fn main() {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in stdin.lock().lines() {
        let line = line.expect("a line of input");
        let fields: Vec<&str> = line.split(' ').collect();
        let message = match fields.as_slice() {
            ["User", user] => Message::User(unhex(user)),
            ["ClientMessage", content] => Message::ClientMessage(unhex(content)),
            ["Chat", user, content] => Message::Chat { user: unhex(user), content: unhex(content) },
            _ => panic!("not a message description: {:?}", line),
        };
        writeln!(out, "{}", serde_json::to_string(&message).unwrap()).unwrap();
    }
}
