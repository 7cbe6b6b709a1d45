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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rystematic::Run;

use crate::error::BurnError;

/// The address rank 0 listens on: the master's (`MASTER_ADDR`, set for
/// every worker of a distributed run).
const MASTER_ADDR: &str = "MASTER_ADDR";

/// How long rank 0 waits for a new connection to greet.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// Exchanges so far ([`AllReduce::exchanges`]).
    exchanges: AtomicU64,
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
            None => vec![
                join(&host, port, token, rank)
                    .map_err(error(format!("reach rank 0 at {host}:{port}")))?,
            ],
        };
        Ok(Some(AllReduce::new(rank, world_size, links)))
    }

    fn new(rank: u32, world_size: u32, links: Vec<TcpStream>) -> AllReduce {
        AllReduce {
            rank,
            world_size,
            links: Mutex::new(links),
            exchanges: AtomicU64::new(0),
        }
    }

    /// How many times [`AllReduce::mean`] has run (one round trip each),
    /// failed ones included.
    pub fn exchanges(&self) -> u64 {
        self.exchanges.load(Ordering::Relaxed)
    }

    /// Replaces `values` with their mean over all ranks (element by
    /// element), the same on every rank.
    ///
    /// # Errors
    /// If a rank is gone, or the ranks' vectors differ in length (their
    /// models differ).
    pub fn mean(&self, values: &mut [f32]) -> Result<(), BurnError> {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        self.exchanges.fetch_add(1, Ordering::Relaxed);
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

/// A non-master rank connects to rank 0 and says who it is.
fn join(host: &str, port: u16, token: u64, rank: u32) -> io::Result<TcpStream> {
    let mut link = TcpStream::connect((host, port))?;
    link.set_nodelay(true)?;
    let mut hello = token.to_le_bytes().to_vec();
    hello.extend_from_slice(&rank.to_le_bytes());
    link.write_all(&hello)?;
    Ok(link)
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
        // A connection that never says who it is must not hold up the
        // world; ranks greet at once.
        stream.set_read_timeout(Some(HELLO_TIMEOUT))?;
        let (mut given, mut rank) = ([0u8; 8], [0u8; 4]);
        if stream.read_exact(&mut given).is_err() || stream.read_exact(&mut rank).is_err() {
            continue;
        }
        stream.set_read_timeout(None)?;
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

/// A world of `world_size` ranks on threads, over loopback; each rank
/// runs `f` with its `AllReduce`. Results by rank.
#[cfg(test)]
pub(crate) fn loopback_world<T: Send + 'static>(
    world_size: u32,
    f: impl Fn(u32, AllReduce) -> T + Send + Sync + Clone + 'static,
) -> Vec<T> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let token = 0x5eed;
    // A stranger without the token is turned away.
    let stranger = TcpStream::connect(("127.0.0.1", port)).unwrap();
    drop(stranger);
    let ranks: Vec<_> = (1..world_size)
        .map(|rank| {
            let f = f.clone();
            std::thread::spawn(move || {
                let link = join("127.0.0.1", port, token, rank).unwrap();
                f(rank, AllReduce::new(rank, world_size, vec![link]))
            })
        })
        .collect();
    let links = accept_peers(&listener, world_size, token).unwrap();
    let master = f(0, AllReduce::new(0, world_size, links));
    std::iter::once(master)
        .chain(ranks.into_iter().map(|r| r.join().unwrap()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world<T: Send + 'static>(
        world_size: u32,
        f: impl Fn(u32, AllReduce) -> T + Send + Sync + Clone + 'static,
    ) -> Vec<T> {
        loopback_world(world_size, f)
    }

    #[test]
    fn every_rank_gets_the_same_mean_step_after_step() {
        let results = world(3, |rank, all_reduce| {
            let mut steps = Vec::new();
            for step in 0..3 {
                let r = rank as f32;
                let mut values = vec![r, 10.0 * r + step as f32, -r];
                all_reduce.mean(&mut values).unwrap();
                steps.push(values);
            }
            steps
        });
        // Ranks 0, 1, 2: means 1, 10 + step, -1.
        for steps in &results {
            for (step, values) in steps.iter().enumerate() {
                assert_eq!(values, &[1.0, 10.0 + step as f32, -1.0]);
            }
        }
        assert!(results.iter().all(|r| r == &results[0]), "bit for bit");
    }

    #[test]
    fn ranks_with_different_models_are_an_error_naming_the_rank() {
        let results = world(2, |rank, all_reduce| {
            let mut values = vec![0.0; 2 + rank as usize];
            all_reduce.mean(&mut values).map_err(|e| {
                let mut line = e.to_string();
                if let Some(source) = std::error::Error::source(&e) {
                    line.push_str(&format!(": {source}"));
                }
                line
            })
        });
        assert_eq!(
            results[0].as_ref().unwrap_err(),
            "rank 0 cannot average 2 gradient values: rank 1 sent 3 values where rank 0 has 2: \
             the ranks' models differ"
        );
        // Rank 1 sees rank 0 hang up.
        assert!(
            results[1]
                .as_ref()
                .unwrap_err()
                .starts_with("rank 1 cannot average 3")
        );
    }
}
