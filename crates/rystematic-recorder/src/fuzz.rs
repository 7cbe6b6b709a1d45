//! Entry points for the fuzz targets in `fuzz/`: the recorder's reader of
//! untrusted bytes. Not a public API.

use crate::checkpoint;
use crate::recorder::RecorderState;

/// Checkpoints (CBOR) as the recorder state they carry, and as any CBOR
/// value: never a panic; a state that decodes encodes and decodes back to
/// itself.
pub fn recorder_state(data: &[u8]) {
    if let Ok(state) = checkpoint::decode::<RecorderState>(data) {
        let bytes = checkpoint::encode(&state).expect("a decoded state encodes");
        assert_eq!(checkpoint::decode::<RecorderState>(&bytes), Ok(state));
    }
    // A user's checkpoint type is unknown here: the self-describing value
    // stands for any of them.
    let _ = checkpoint::decode::<ciborium::Value>(data);
}
