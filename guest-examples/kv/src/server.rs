//! The event loop: one thread (wasm has none to spare), one `wasi:io/poll.poll` over the
//! listener, every client's input (and output, while a reply is pending), and the replication
//! link. Nothing here blocks except that poll.

use std::collections::BTreeMap;

use wasip2::io::poll::{Pollable, poll};
use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::tcp::TcpSocket;

use crate::aof::Aof;
use crate::commands::{self, ServerInfo, Source};
use crate::db::Db;
use crate::replica::Link;
use crate::resp::{Command, Parsed, Reply, encode_command, parse};

/// One connection. Field order is drop order: the pollable, then the streams, then the socket.
struct Client {
    readable: Pollable,
    input: InputStream,
    output: OutputStream,
    _socket: TcpSocket,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    /// Close once `outbuf` is sent (QUIT, protocol error).
    closing: bool,
    /// A replica that sent KVSYNC: it gets the write stream, its input is ignored.
    is_replica: bool,
}

#[derive(Clone, Copy)]
enum Event {
    Accept,
    Readable(u64),
    Writable(u64),
    Link,
}

pub struct Server {
    pub port: u16,
    pub dir: Option<String>,
    pub db: Db,
    pub aof: Option<Aof>,
    pub link: Option<Link>,
    listener_ready: Pollable,
    listener: TcpSocket,
    clients: BTreeMap<u64, Client>,
    next_id: u64,
    started_ns: u64,
}

impl Server {
    pub fn new(listener: TcpSocket, port: u16) -> Self {
        Server {
            port,
            dir: None,
            db: Db::default(),
            aof: None,
            link: None,
            listener_ready: listener.subscribe(),
            listener,
            clients: BTreeMap::new(),
            next_id: 1,
            started_ns: wasip2::clocks::monotonic_clock::now(),
        }
    }

    pub fn run(mut self) -> ! {
        loop {
            for event in self.wait() {
                match event {
                    Event::Accept => self.accept_all(),
                    Event::Readable(id) => self.on_readable(id),
                    Event::Writable(id) => self.flush(id),
                    Event::Link => self.on_link_ready(),
                }
            }
        }
    }

    fn wait(&self) -> Vec<Event> {
        let writable: Vec<(u64, Pollable)> = self
            .clients
            .iter()
            .filter(|(_, c)| !c.outbuf.is_empty())
            .map(|(id, c)| (*id, c.output.subscribe()))
            .collect();
        let mut pollables = vec![&self.listener_ready];
        let mut events = vec![Event::Accept];
        for (id, client) in &self.clients {
            pollables.push(&client.readable);
            events.push(Event::Readable(*id));
        }
        for (id, pollable) in &writable {
            pollables.push(pollable);
            events.push(Event::Writable(*id));
        }
        if let Some(link) = &self.link {
            pollables.push(link.pollable());
            events.push(Event::Link);
        }
        poll(&pollables).into_iter().map(|i| events[i as usize]).collect()
    }

    fn accept_all(&mut self) {
        while let Ok((socket, input, output)) = self.listener.accept() {
            let id = self.next_id;
            self.next_id += 1;
            let readable = input.subscribe();
            let client = Client {
                readable,
                input,
                output,
                _socket: socket,
                inbuf: Vec::new(),
                outbuf: Vec::new(),
                closing: false,
                is_replica: false,
            };
            self.clients.insert(id, client);
        }
    }

    fn on_readable(&mut self, id: u64) {
        let Some(client) = self.clients.get_mut(&id) else { return };
        match client.input.read(64 * 1024) {
            Ok(bytes) => client.inbuf.extend_from_slice(&bytes),
            Err(_) => {
                self.close(id);
                return;
            }
        }
        if client.is_replica || client.closing {
            client.inbuf.clear();
            return;
        }
        for request in take_requests(client) {
            self.dispatch(id, request);
        }
        self.flush(id);
    }

    fn dispatch(&mut self, id: u64, request: Command) {
        let name = request[0].to_ascii_uppercase();
        let reply = match name.as_slice() {
            b"QUIT" => {
                self.clients.get_mut(&id).map(|c| c.closing = true);
                Some(Reply::ok())
            }
            b"KVSYNC" => {
                self.start_replica(id);
                None
            }
            _ => {
                let info = self.info();
                let outcome = commands::execute(&mut self.db, &info, &request, Source::Client);
                if let Some(write) = outcome.write {
                    self.propagate(&write);
                }
                Some(outcome.reply)
            }
        };
        if let (Some(reply), Some(client)) = (reply, self.clients.get_mut(&id)) {
            reply.encode(&mut client.outbuf);
        }
    }

    /// A replica asked for the full dataset: send it as commands, then keep streaming writes.
    fn start_replica(&mut self, id: u64) {
        let Some(client) = self.clients.get_mut(&id) else { return };
        encode_command(&[b"FLUSHALL".to_vec()], &mut client.outbuf);
        for (key, value) in self.db.iter() {
            encode_command(&[b"SET".to_vec(), key.clone(), value.clone()], &mut client.outbuf);
        }
        client.is_replica = true;
        eprintln!("kv: replica attached, sent {} keys", self.db.len());
    }

    /// Applies the master's writes (replica side).
    fn on_link_ready(&mut self) {
        let Some(link) = self.link.as_mut() else { return };
        for write in link.on_ready() {
            let info = self.info();
            let outcome = commands::execute(&mut self.db, &info, &write, Source::Replication);
            if let Some(write) = outcome.write {
                self.propagate(&write);
            }
        }
    }

    /// Sends a write to the append-only file and to attached replicas.
    fn propagate(&mut self, write: &Command) {
        let mut encoded = Vec::new();
        encode_command(write, &mut encoded);
        if let Some(aof) = self.aof.as_mut() {
            aof.append(&encoded, write[0] == b"FLUSHALL");
        }
        let replicas: Vec<u64> =
            self.clients.iter().filter(|(_, c)| c.is_replica).map(|(id, _)| *id).collect();
        for id in replicas {
            if let Some(client) = self.clients.get_mut(&id) {
                client.outbuf.extend_from_slice(&encoded);
            }
            self.flush(id);
        }
    }

    /// Writes as much pending output as the stream accepts now; the rest waits for writability.
    fn flush(&mut self, id: u64) {
        let Some(client) = self.clients.get_mut(&id) else { return };
        let mut sent = 0;
        while sent < client.outbuf.len() {
            match client.output.check_write() {
                Ok(0) => break,
                Ok(permit) => {
                    let end = client.outbuf.len().min(sent + permit as usize);
                    if client.output.write(&client.outbuf[sent..end]).is_err() {
                        self.close(id);
                        return;
                    }
                    sent = end;
                }
                Err(_) => {
                    self.close(id);
                    return;
                }
            }
        }
        client.outbuf.drain(..sent);
        if client.closing && client.outbuf.is_empty() {
            let _ = client.output.blocking_flush();
            self.close(id);
        }
    }

    fn close(&mut self, id: u64) {
        if let Some(client) = self.clients.remove(&id) {
            if client.is_replica {
                eprintln!("kv: replica detached");
            }
        }
    }

    fn info(&self) -> ServerInfo {
        let now = wasip2::clocks::monotonic_clock::now();
        ServerInfo {
            port: self.port,
            uptime_s: now.saturating_sub(self.started_ns) / 1_000_000_000,
            connected_clients: self.clients.values().filter(|c| !c.is_replica).count(),
            connected_replicas: self.clients.values().filter(|c| c.is_replica).count(),
            master: self.link.as_ref().map(|l| (l.host.clone(), l.port, l.is_up())),
            dir: self.dir.clone(),
        }
    }
}

/// Takes the complete requests off the front of a client's input buffer. A protocol error is
/// answered and the connection closed after the answer, as Redis does.
fn take_requests(client: &mut Client) -> Vec<Command> {
    let mut requests = Vec::new();
    let mut used = 0;
    loop {
        match parse(&client.inbuf[used..]) {
            Parsed::Incomplete => break,
            Parsed::Request(args, n) => {
                used += n;
                if !args.is_empty() {
                    requests.push(args);
                }
            }
            Parsed::Invalid(message) => {
                Reply::err(format!("ERR {message}")).encode(&mut client.outbuf);
                client.closing = true;
                used = client.inbuf.len();
                break;
            }
        }
    }
    client.inbuf.drain(..used);
    requests
}
