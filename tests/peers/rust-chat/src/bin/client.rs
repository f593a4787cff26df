//! A chat client in the course's shape: asks for a user name, sends it,
//! then sends every line typed and prints what the server broadcasts:
//! `<alice>: hello` for a chat line, `<alice> joined the chat` for a join.
//!
//! The end of input shuts the connection down for writing; the client
//! exits once the server has closed the connection (so a server must close
//! a connection whose client has stopped sending).
use rust_chat_peers::{address_from_args, Message};
use std::io::Write;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

#[tokio::main]
async fn main() {
    let address = address_from_args();
    let stream = match TcpStream::connect(&address).await {
        Ok(stream) => stream,
        Err(e) => {
            eprintln!("rust-chat-client: cannot connect to {}: {}", address, e);
            std::process::exit(1);
        }
    };
    let (read_half, mut write_half) = stream.into_split();
    let mut input = BufReader::new(tokio::io::stdin()).lines();

    println!("Enter your username");
    let user = match input.next_line().await {
        Ok(Some(user)) => user,
        _ => std::process::exit(1),
    };
    if send(&mut write_half, &Message::User(user)).await.is_err() {
        std::process::exit(1);
    }

    let printer = tokio::spawn(print_incoming(read_half));
    tokio::spawn(async move {
        while let Ok(Some(line)) = input.next_line().await {
            if send(&mut write_half, &Message::ClientMessage(line)).await.is_err() {
                break;
            }
        }
        // Dropping the write half here shuts the connection down for writing.
    });
    let _ = printer.await;
    let _ = std::io::stdout().flush();
    // Not a return from main: the runtime would wait for the blocked read of stdin.
    std::process::exit(0);
}

async fn send(write_half: &mut OwnedWriteHalf, message: &Message) -> std::io::Result<()> {
    let mut line = serde_json::to_string(message).expect("a Message always serializes");
    line.push('\n');
    write_half.write_all(line.as_bytes()).await
}

async fn print_incoming(read_half: OwnedReadHalf) {
    let mut lines = BufReader::new(read_half).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match serde_json::from_str::<Message>(&line) {
            Ok(Message::Chat { user, content }) => println!("<{}>: {}", user, content),
            Ok(Message::User(user)) => println!("<{}> joined the chat", user),
            Ok(Message::ClientMessage(_)) => {}
            Err(e) => eprintln!("rust-chat-client: ignored a line from the server: {}", e),
        }
    }
}
