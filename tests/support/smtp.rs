//! An SMTP sink on loopback: it accepts every message, as a school's relay would, and keeps
//! each one (envelope recipients and the raw message) for the test to read.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Default)]
pub struct Mail {
    pub recipients: Vec<String>,
    pub data: String,
}

pub struct Sink {
    pub port: u16,
    received: Arc<Mutex<Vec<Mail>>>,
}

impl Sink {
    pub fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let keep = Arc::clone(&keep);
                std::thread::spawn(move || converse(stream, &keep));
            }
        });
        Sink { port, received }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }
}

fn converse(stream: TcpStream, keep: &Mutex<Vec<Mail>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut say = |text: &str| writer.write_all(format!("{text}\r\n").as_bytes()).is_ok();
    say("220 sink.test ESMTP");
    let mut mail = Mail::default();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            say("250-sink.test");
            say("250 8BITMIME");
        } else if command.starts_with("RCPT TO:") {
            mail.recipients.push(line.trim_end()[8..].trim_matches(|c| c == '<' || c == '>' || c == ' ').to_owned());
            say("250 OK");
        } else if command == "DATA" {
            say("354 go on");
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            mail.data = data;
            keep.lock().unwrap().push(std::mem::take(&mut mail));
            say("250 kept");
        } else if command == "QUIT" {
            say("221 bye");
            return;
        } else {
            say("250 OK");
        }
    }
}
