//! What the two peers share: the chat's message, and the address to use.
//!
//! `Message` has the Rust course's shape and serde's default (externally
//! tagged) representation, so one message is one line of JSON:
//!
//! ```text
//! {"User":"alice"}
//! {"ClientMessage":"hello"}
//! {"Chat":{"user":"alice","content":"hello"}}
//! ```
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// The first line a client sends (its name); the server broadcasts it as a join.
    User(String),
    /// A line the user typed.
    ClientMessage(String),
    /// What the server broadcasts: who said what.
    Chat { user: String, content: String },
}

/// `host:port` from `--host HOST --port PORT` on the command line;
/// 127.0.0.1 and 8000 (the course's address) when not given.
pub fn address_from_args() -> String {
    let mut host = String::from("127.0.0.1");
    let mut port = String::from("8000");
    let mut args = std::env::args().skip(1);
    while let Some(option) = args.next() {
        let value = args.next();
        match (option.as_str(), value) {
            ("--host", Some(value)) => host = value,
            ("--port", Some(value)) => port = value,
            _ => {
                eprintln!("usage: [--host HOST] [--port PORT]");
                std::process::exit(2);
            }
        }
    }
    format!("{}:{}", host, port)
}
