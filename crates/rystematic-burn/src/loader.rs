//! A data loader whose shuffle order depends only on the seed and the
//! epoch, so a run resumed from a checkpoint sees the same batches as a
//! straight one.
//!
//! Burn's own shuffling (`DataLoaderBuilder::shuffle`) draws each epoch's
//! order from one generator that advances every epoch and is not part of
//! Burn's checkpoints: resumed at epoch 3, it replays epoch 1's order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::Device;

/// A burn [`DataLoader`] that shuffles every epoch with an order computed
/// from `(seed, epoch)` alone. Give it a seed from the run
/// ([`Run::new_seed`](rystematic::Run::new_seed)) and, when resuming, the
/// epoch to go on after ([`crate::resume_epoch`]).
pub struct EpochShuffledLoader<I, O> {
    dataset: Arc<dyn Dataset<I>>,
    batcher: Arc<dyn Batcher<I, O>>,
    batch_size: usize,
    seed: u64,
    /// Epochs started so far (the Learner iterates once per epoch).
    epochs: AtomicUsize,
    device: Device,
    /// This rank's part of every batch: `(rank, world_size)`.
    shard: (usize, usize),
}

impl<I, O> EpochShuffledLoader<I, O>
where
    I: Clone + Send + Sync + 'static,
    O: Send + 'static,
{
    /// Batches of `batch_size` (the last may be smaller) from `dataset`,
    /// shuffled by `seed` and the epoch.
    ///
    /// # Panics
    /// If `batch_size` is 0 (a definition mistake).
    pub fn new(
        dataset: impl Dataset<I> + 'static,
        batcher: impl Batcher<I, O> + 'static,
        batch_size: usize,
        seed: u64,
    ) -> Self {
        assert!(
            batch_size > 0,
            "EpochShuffledLoader: batch_size must be at least 1"
        );
        EpochShuffledLoader {
            dataset: Arc::new(dataset),
            batcher: Arc::new(batcher),
            batch_size,
            seed,
            epochs: AtomicUsize::new(0),
            device: Device::default(),
            shard: (0, 1),
        }
    }

    /// Goes on after `epoch`: the next iteration is epoch `epoch + 1`.
    pub fn resume_after(self, epoch: usize) -> Self {
        self.epochs.store(epoch, Ordering::Relaxed);
        self
    }

    /// Gives this rank (`rank` of `world_size`) its part of every batch,
    /// for data-parallel training ([`crate::data_parallel`]): each batch of
    /// `batch_size` items is cut into `world_size` consecutive parts as even
    /// as can be (sizes differ by one at most), and rank `r` gets part `r`.
    /// Together the ranks see each batch once; every rank has as many
    /// batches per epoch. A last batch with fewer items than ranks is
    /// left out on every rank, so no rank gets an empty one.
    ///
    /// # Panics
    /// If `rank >= world_size`, or `batch_size < world_size` (a
    /// definition mistake: some rank would get no item).
    pub fn shard(mut self, rank: u32, world_size: u32) -> Self {
        let (rank, world_size) = (rank as usize, world_size as usize);
        assert!(
            rank < world_size,
            "EpochShuffledLoader::shard: rank {rank} is not below world size {world_size}"
        );
        assert!(
            self.batch_size >= world_size,
            "EpochShuffledLoader::shard: batch size {} gives some of {world_size} ranks no item",
            self.batch_size
        );
        self.shard = (rank, world_size);
        self
    }

    /// The order of epoch `epoch` (from 1): a permutation of the dataset's
    /// indices.
    pub fn order(&self, epoch: usize) -> Vec<usize> {
        permutation(self.dataset.len(), self.seed, epoch as u64)
    }

    fn with(&self, dataset: Arc<dyn Dataset<I>>, device: Device) -> Self {
        EpochShuffledLoader {
            dataset,
            batcher: Arc::clone(&self.batcher),
            batch_size: self.batch_size,
            seed: self.seed,
            epochs: AtomicUsize::new(self.epochs.load(Ordering::Relaxed)),
            device,
            shard: self.shard,
        }
    }
}

impl<I, O> DataLoader<O> for EpochShuffledLoader<I, O>
where
    I: Clone + Send + Sync + 'static,
    O: Send + 'static,
{
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        let epoch = self.epochs.fetch_add(1, Ordering::Relaxed) + 1;
        Box::new(EpochIter {
            loader: self,
            order: self.order(epoch),
            next: 0,
        })
    }

    fn num_items(&self) -> usize {
        self.dataset.len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        Arc::new(self.with(Arc::clone(&self.dataset), device.clone()))
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        let part = burn::data::dataset::transform::PartialDataset::new(
            Arc::clone(&self.dataset),
            start,
            end,
        );
        Arc::new(self.with(Arc::new(part), self.device.clone()))
    }
}

struct EpochIter<'a, I, O> {
    loader: &'a EpochShuffledLoader<I, O>,
    order: Vec<usize>,
    next: usize,
}

impl<I, O> Iterator for EpochIter<'_, I, O> {
    type Item = Result<O, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (rank, world_size) = self.loader.shard;
        let start = self.next;
        let end = (start + self.loader.batch_size).min(self.order.len());
        if end - start < world_size.max(1) {
            // Done, or (sharded) too few items left for every rank.
            self.next = self.order.len();
            return None;
        }
        let batch = &self.order[start..end];
        let part = |r: usize| r * batch.len() / world_size;
        let items: Result<Vec<I>, DatasetError> = batch[part(rank)..part(rank + 1)]
            .iter()
            .map(|&index| self.loader.dataset.get(index))
            .collect();
        self.next = end;
        Some(items.map(|items| self.loader.batcher.batch(items, &self.loader.device)))
    }
}

impl<I, O> DataLoaderIterator<O> for EpochIter<'_, I, O> {
    fn progress(&self) -> Progress {
        Progress {
            items_processed: self.next,
            items_total: self.order.len(),
            unit: Some("items".to_owned()),
        }
    }
}

/// SplitMix64 step: small, and value-stable (unlike `StdRng`), so an
/// order is the same in every build.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fisher–Yates over `0..len` with a generator keyed by seed and epoch.
fn permutation(len: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut state = seed ^ splitmix(&mut epoch.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut order: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        // Multiply-shift: an unbiased-enough index in 0..=i for data sets
        // far below 2^32 items.
        let j = ((u128::from(splitmix(&mut state)) * (i as u128 + 1)) >> 64) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_depend_on_seed_and_epoch_only() {
        let a = permutation(100, 7, 3);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>(), "a permutation");
        assert_eq!(a, permutation(100, 7, 3));
        assert_ne!(a, permutation(100, 7, 4));
        assert_ne!(a, permutation(100, 8, 3));
        // Pinned, so a change of the generator is seen.
        assert_eq!(permutation(5, 1, 1), GOLDEN);
    }

    const GOLDEN: [usize; 5] = [2, 1, 4, 3, 0];

    #[derive(Clone)]
    struct Ids;

    impl Batcher<usize, Vec<usize>> for Ids {
        fn batch(&self, items: Vec<usize>, _device: &Device) -> Vec<usize> {
            items
        }
    }

    fn epoch_items(loader: &EpochShuffledLoader<usize, Vec<usize>>) -> Vec<usize> {
        loader.iter().flat_map(|batch| batch.unwrap()).collect()
    }

    #[test]
    fn a_resumed_loader_goes_on_with_the_next_epochs_order() {
        let data = || burn::data::dataset::InMemDataset::new((100..110).collect::<Vec<_>>());
        let straight = EpochShuffledLoader::new(data(), Ids, 4, 9);
        let epochs: Vec<Vec<usize>> = (0..3).map(|_| epoch_items(&straight)).collect();
        assert_ne!(epochs[0], epochs[1], "shuffled every epoch");
        let batches: Vec<usize> = straight.iter().map(|b| b.unwrap().len()).collect();
        assert_eq!(batches, [4, 4, 2]);
        let resumed = EpochShuffledLoader::new(data(), Ids, 4, 9).resume_after(2);
        assert_eq!(epoch_items(&resumed), epochs[2]);
    }

    #[test]
    fn ranks_share_each_batch_and_have_as_many_batches() {
        let data = || burn::data::dataset::InMemDataset::new((0..11).collect::<Vec<_>>());
        let whole: Vec<Vec<usize>> = EpochShuffledLoader::new(data(), Ids, 5, 3)
            .iter()
            .map(|b| b.unwrap())
            .collect();
        let ranks: Vec<Vec<Vec<usize>>> = (0..3)
            .map(|rank| {
                EpochShuffledLoader::new(data(), Ids, 5, 3)
                    .shard(rank, 3)
                    .iter()
                    .map(|b| b.unwrap())
                    .collect()
            })
            .collect();
        // Batches of 5, 5 and 1: the last cannot feed 3 ranks.
        assert!(ranks.iter().all(|batches| batches.len() == 2));
        for (i, batch) in whole[..2].iter().enumerate() {
            let parts: Vec<usize> = ranks.iter().flat_map(|r| r[i].clone()).collect();
            assert_eq!(&parts, batch, "the ranks' parts are the batch, in order");
            let sizes: Vec<usize> = ranks.iter().map(|r| r[i].len()).collect();
            assert_eq!(sizes, [1, 2, 2]);
        }
        // One rank is the whole loader.
        let one: Vec<Vec<usize>> = EpochShuffledLoader::new(data(), Ids, 5, 3)
            .shard(0, 1)
            .iter()
            .map(|b| b.unwrap())
            .collect();
        assert_eq!(one, whole);
    }
}
