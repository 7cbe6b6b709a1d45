//! The gradient all-reduce of a distributed run's workers, over TCP.
//!
//! Burn 0.22.1 has no collective between processes: its DDP strategy runs
//! one thread per local device and syncs gradients in-process, and only
//! the CUDA/wgpu (cubecl) and remote backends implement `all_reduce` (the
//! CPU backends `flex` and `ndarray` leave it `unimplemented!()`). So the
//! workers of a `--distributed` run average their gradients here: rank 0
//! listens on a free port of `MASTER_ADDR`, tells the others the port (and
//! a token that keeps stray connections out) through rystematic's
//! [`Run::broadcast_from_master`], and each step every rank sends its
//! values to rank 0, which sums them in rank order and sends the mean
//! back. Every rank gets rank 0's bytes, so all ranks apply the very same
//! gradient and their weights stay identical, bit for bit.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Mutex;

use rystematic::Run;

use crate::error::BurnError;

/// The address rank 0 listens on: the master's (`MASTER_ADDR`, set for
/// every worker of a distributed run).
const MASTER_ADDR: &str = "MASTER_ADDR";

/// Mean of equally long `f32` vectors across every rank of a distributed
/// run (see the module doc). Ranks must call [`AllReduce::mean`] the same
/// number of times, in the same order, with vectors of the same lengths.
#[derive(Debug)]
pub struct AllReduce {
    rank: u32,
    world_size: u32,
    /// Rank 0: the other ranks' connections, by rank (index 0 is rank 1).
    /// Other ranks: the one connection to rank 0.
    links: Mutex<Vec<TcpStream>>,
}

impl AllReduce {
    /// Connects the ranks of `run`: `None` when the run is not distributed
    /// (one rank, nothing to reduce). Every rank must call it at the same
    /// point of the program (it broadcasts through the run).
    ///
    /// # Errors
    /// If rank 0 cannot listen on `MASTER_ADDR`, a rank cannot reach it, or
    /// the broadcast of the port fails.
    pub fn connect(run: &Run) -> Result<Option<AllReduce>, BurnError> {
        let world_size = run.world_size();
        if world_size <= 1 {
            return Ok(None);
        }
        let rank = run.rank();
        let host = std::env::var(MASTER_ADDR).unwrap_or_else(|_| "127.0.0.1".to_owned());
        let error = |what: String| {
            move |source: io::Error| BurnError::Collective {
                rank,
                what,
                source: Box::new(source),
            }
        };
        let listener = if rank == 0 {
            Some(
                TcpListener::bind((host.as_str(), 0))
                    .map_err(error(format!("listen on {host} (MASTER_ADDR)")))?,
            )
        } else {
            None
        };
        let offer = match &listener {
            Some(listener) => (
                listener
                    .local_addr()
                    .map_err(error("read the listening port".to_owned()))?
                    .port(),
                // Not from the run's seed stream, which must stay the same
                // with or without data parallelism.
                RandomState::new().hash_one(std::process::id()),
            ),
            None => (0, 0),
        };
        let (port, token): (u16, u64) =
            run.broadcast_from_master(offer)
                .map_err(|source| BurnError::Collective {
                    rank,
                    what: "broadcast the all-reduce port".to_owned(),
                    source: Box::new(source),
                })?;
        let links = match listener {
            Some(listener) => accept_peers(&listener, world_size, token)
                .map_err(error(format!("accept the other ranks on {host}:{port}")))?,
            None => {
                let mut link = TcpStream::connect((host.as_str(), port))
                    .map_err(error(format!("reach rank 0 at {host}:{port}")))?;
                link.set_nodelay(true)
                    .map_err(error("configure the connection".to_owned()))?;
                let mut hello = token.to_le_bytes().to_vec();
                hello.extend_from_slice(&rank.to_le_bytes());
                link.write_all(&hello)
                    .map_err(error(format!("greet rank 0 at {host}:{port}")))?;
                vec![link]
            }
        };
        Ok(Some(AllReduce {
            rank,
            world_size,
            links: Mutex::new(links),
        }))
    }

    /// Replaces `values` with their mean over all ranks (element by
    /// element), the same on every rank.
    ///
    /// # Errors
    /// If a rank is gone, or the ranks' vectors differ in length (their
    /// models differ).
    pub fn mean(&self, values: &mut [f32]) -> Result<(), BurnError> {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        let result = if self.rank == 0 {
            self.reduce_as_master(&mut links, values)
        } else {
            exchange(&mut links[0], values)
        };
        result.map_err(|source| BurnError::Collective {
            rank: self.rank,
            what: format!("average {} gradient values", values.len()),
            source,
        })
    }

    fn reduce_as_master(
        &self,
        links: &mut [TcpStream],
        values: &mut [f32],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // In f64 and in rank order: the same sum whatever the timing.
        let mut sum: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
        let mut buf = vec![0u8; values.len() * 4];
        for (index, link) in links.iter_mut().enumerate() {
            let peer = index + 1;
            let len = read_u64(link)?;
            if len != values.len() as u64 {
                return Err(format!(
                    "rank {peer} sent {len} values where rank 0 has {}: the ranks' models differ",
                    values.len()
                )
                .into());
            }
            link.read_exact(&mut buf)?;
            for (s, chunk) in sum.iter_mut().zip(buf.chunks_exact(4)) {
                *s += f64::from(f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
            }
        }
        let n = f64::from(self.world_size);
        for (v, s) in values.iter_mut().zip(&sum) {
            *v = (s / n) as f32;
        }
        let bytes = to_bytes(values);
        for link in links.iter_mut() {
            link.write_all(&bytes)?;
        }
        Ok(())
    }
}

/// A non-master rank's side: send, then read the mean back.
fn exchange(
    link: &mut TcpStream,
    values: &mut [f32],
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut message = (values.len() as u64).to_le_bytes().to_vec();
    message.extend_from_slice(&to_bytes(values));
    link.write_all(&message)?;
    let mut buf = vec![0u8; values.len() * 4];
    link.read_exact(&mut buf)?;
    for (v, chunk) in values.iter_mut().zip(buf.chunks_exact(4)) {
        *v = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    Ok(())
}

/// Rank 0 accepts one connection per other rank; a connection without the
/// token (not one of ours) is dropped.
fn accept_peers(listener: &TcpListener, world_size: u32, token: u64) -> io::Result<Vec<TcpStream>> {
    let mut peers: Vec<Option<TcpStream>> = (1..world_size).map(|_| None).collect();
    while peers.iter().any(Option::is_none) {
        let (mut stream, _) = listener.accept()?;
        let (mut given, mut rank) = ([0u8; 8], [0u8; 4]);
        if stream.read_exact(&mut given).is_err() || stream.read_exact(&mut rank).is_err() {
            continue;
        }
        let (given, rank) = (u64::from_le_bytes(given), u32::from_le_bytes(rank));
        let slot = (rank as usize)
            .checked_sub(1)
            .and_then(|i| peers.get_mut(i));
        match slot {
            Some(slot @ None) if given == token => {
                stream.set_nodelay(true)?;
                *slot = Some(stream);
            }
            _ => continue,
        }
    }
    Ok(peers.into_iter().flatten().collect())
}

fn read_u64(link: &mut TcpStream) -> io::Result<u64> {
    let mut bytes = [0u8; 8];
    link.read_exact(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

fn to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}
