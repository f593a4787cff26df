//! A chat server in the course's shape: for every connection, one task
//! reads the client's lines (`handle_incoming`) and one writes what the
//! broadcast channel carries (`handle_outgoing`).
//!
//! It says where it listens on stderr ("rust-chat-server: listening on
//! 127.0.0.1:PORT"), so a test can start it with `--port 0`.
use rust_chat_peers::{address_from_args, Message};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpListener;
use tokio::sync::broadcast::{self, error::RecvError, Receiver, Sender};

#[tokio::main]
async fn main() {
    let address = address_from_args();
    let listener = match TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("rust-chat-server: cannot listen on {}: {}", address, e);
            std::process::exit(1);
        }
    };
    eprintln!("rust-chat-server: listening on {}", listener.local_addr().unwrap());
    let (sender, _) = broadcast::channel::<Message>(1024);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("rust-chat-server: accept: {}", e);
                continue;
            }
        };
        let (read_half, write_half) = stream.into_split();
        // Subscribed before the join is announced: the newcomer sees its own join.
        let receiver = sender.subscribe();
        let sender = sender.clone();
        tokio::spawn(async move {
            let outgoing = tokio::spawn(handle_outgoing(write_half, receiver));
            handle_incoming(read_half, sender).await;
            // The client has gone (or said something wrong first): the
            // outgoing task ends too, so the connection closes.
            outgoing.abort();
        });
    }
}

async fn handle_incoming(read_half: OwnedReadHalf, sender: Sender<Message>) {
    let mut lines = BufReader::new(read_half).lines();
    let user = match lines.next_line().await {
        Ok(Some(line)) => match serde_json::from_str::<Message>(&line) {
            Ok(Message::User(user)) => user,
            _ => {
                eprintln!("rust-chat-server: the first line is not a User message: {:?}", line);
                return;
            }
        },
        _ => return,
    };
    let _ = sender.send(Message::User(user.clone()));
    // A line that is not UTF-8, or a reset, ends the loop (and the connection).
    while let Ok(Some(line)) = lines.next_line().await {
        match serde_json::from_str::<Message>(&line) {
            Ok(Message::ClientMessage(content)) => {
                let _ = sender.send(Message::Chat { user: user.clone(), content });
            }
            Ok(_) => {} // a Chat or a second User from a client: ignored
            Err(e) => eprintln!("rust-chat-server: ignored a line: {}", e),
        }
    }
}

async fn handle_outgoing(mut write_half: OwnedWriteHalf, mut receiver: Receiver<Message>) {
    loop {
        let message = match receiver.recv().await {
            Ok(message) => message,
            Err(RecvError::Lagged(skipped)) => {
                eprintln!("rust-chat-server: a client skipped {} messages", skipped);
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let mut line = serde_json::to_string(&message).expect("a Message always serializes");
        line.push('\n');
        if write_half.write_all(line.as_bytes()).await.is_err() {
            return;
        }
    }
}
