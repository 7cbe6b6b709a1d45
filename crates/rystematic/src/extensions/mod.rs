//! The built-in extensions: ordinary [`Extension`]s, loaded with the
//! registered ones.

mod distributed;

use std::sync::Arc;

use crate::runtime::extension::Extension;

/// The built-in extensions, for the runtime's extension registry.
pub(crate) fn built_in() -> Vec<Arc<dyn Extension>> {
    vec![Arc::new(distributed::Distributed)]
}
