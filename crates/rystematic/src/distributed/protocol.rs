//! What agents, workers and the master agent say to each other: one JSON
//! message per line over TCP.
//!
//! A line protocol keeps the wire readable (`nc` shows it) and costs nothing
//! next to process start-up; each connection carries one conversation, so
//! no message needs an id.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;

use serde::{Deserialize, Serialize};

/// Sent to the master agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub(crate) enum ToMaster {
    /// An agent joins the rendezvous.
    Join(JoinInfo),
    /// A worker opens its connection for barriers and broadcasts.
    Worker { rank: u32 },
    /// A worker reached barrier number `seq`.
    Barrier { seq: u64 },
    /// The master worker's value for broadcast number `seq`.
    Publish { seq: u64, value: serde_json::Value },
    /// A worker waits for the value of broadcast number `seq`.
    Fetch { seq: u64 },
    /// A rank failed (from the worker itself, or from its agent when the
    /// process died).
    Failed { rank: u32, reason: String },
    /// Every worker of the sending agent completed.
    Done,
}

/// What an agent tells the master when it joins.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JoinInfo {
    pub(crate) node_rank: u32,
    pub(crate) nnodes: u32,
    pub(crate) nproc: u32,
    pub(crate) host: String,
}

/// Sent by the master agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub(crate) enum FromMaster {
    /// Everyone joined: the shape of the world.
    World(WorldPlan),
    /// The join was refused (wrong `nnodes`, a node rank taken twice, ...).
    Refused { reason: String },
    /// Every worker reached the barrier.
    Released,
    /// The value of a broadcast.
    Value { value: serde_json::Value },
    /// The run is over for everyone: stop the workers.
    Abort { reason: String },
    /// Every node completed.
    Finish,
}

/// The world as the master agent announces it once every node has joined.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct WorldPlan {
    /// The run directory relative to `output_dir` (`<experiment>/<stamp>`):
    /// every node makes the same one, which on a shared file system is the
    /// master's.
    pub(crate) run_dir: String,
    pub(crate) world_size: u32,
    /// Hosts by node rank.
    pub(crate) hosts: Vec<String>,
    /// Processes per node, by node rank.
    pub(crate) nprocs: Vec<u32>,
    /// The port of the framework's own process group (`MASTER_PORT` of the
    /// workers), not the rendezvous port.
    pub(crate) framework_port: u16,
}

impl WorldPlan {
    /// The global rank of `node_rank`'s first worker.
    pub(crate) fn first_rank(&self, node_rank: u32) -> u32 {
        self.nprocs.iter().take(node_rank as usize).sum()
    }
}

/// One end of a conversation: buffered reads, line writes.
pub(crate) struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    pub(crate) fn new(stream: TcpStream) -> io::Result<Conn> {
        // Small messages that someone waits for: no Nagle delay.
        stream.set_nodelay(true)?;
        Ok(Conn {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    /// A second handle for writing from another thread.
    pub(crate) fn writer(&self) -> io::Result<TcpStream> {
        self.writer.try_clone()
    }

    pub(crate) fn send<T: Serialize>(&mut self, message: &T) -> io::Result<()> {
        send(&mut self.writer, message)
    }

    /// The next message, or `None` when the peer closed the connection.
    pub(crate) fn receive<T: for<'de> Deserialize<'de>>(&mut self) -> io::Result<Option<T>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        serde_json::from_str(&line)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// Writes one message as one line (one `write` call, so concurrent writers
/// on clones of a stream never interleave within a message).
pub(crate) fn send<T: Serialize>(stream: &mut TcpStream, message: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json_lines() {
        let text = serde_json::to_string(&ToMaster::Barrier { seq: 3 }).unwrap();
        assert_eq!(text, r#"{"msg":"barrier","seq":3}"#);
        let join = ToMaster::Join(JoinInfo {
            node_rank: 1,
            nnodes: 2,
            nproc: 4,
            host: "h".into(),
        });
        let back: ToMaster = serde_json::from_str(&serde_json::to_string(&join).unwrap()).unwrap();
        assert!(matches!(
            back,
            ToMaster::Join(JoinInfo {
                node_rank: 1,
                nproc: 4,
                ..
            })
        ));
    }

    #[test]
    fn first_rank_counts_the_lower_nodes() {
        let plan = WorldPlan {
            run_dir: "e/x".into(),
            world_size: 7,
            hosts: vec!["a".into(), "b".into(), "c".into()],
            nprocs: vec![2, 4, 1],
            framework_port: 1,
        };
        assert_eq!(
            (plan.first_rank(0), plan.first_rank(1), plan.first_rank(2)),
            (0, 2, 6)
        );
    }
}
