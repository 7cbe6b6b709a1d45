//! Turning a panic in the experiment into an error message the run can log.
//!
//! The default panic hook prints to stderr only, so a panic would never
//! reach `log.txt`. While [`catch`] runs a closure, panics on that thread are
//! recorded (message, location and, with `RUST_BACKTRACE`, a backtrace)
//! instead of printed; panics anywhere else go to the previous hook as usual.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// `Some` while catching on this thread; holds the last panic's report.
    static CAPTURE: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Runs `f`; a panic becomes `Err(report)`.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    install_hook();
    let outer = CAPTURE.with(|c| c.replace(Some(None)));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    let captured = CAPTURE.with(|c| c.replace(outer)).flatten();
    result.map_err(|payload| captured.unwrap_or_else(|| payload_message(payload.as_ref())))
}

fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let handled = CAPTURE.with(|c| match c.try_borrow_mut() {
                Ok(mut slot) => match slot.as_mut() {
                    Some(report) => {
                        *report = Some(describe(info));
                        true
                    }
                    None => false,
                },
                Err(_) => false,
            });
            if !handled {
                previous(info);
            }
        }));
    });
}

fn describe(info: &panic::PanicHookInfo<'_>) -> String {
    let message = payload_message(info.payload());
    let mut report = match info.location() {
        Some(at) => format!(
            "panicked at {}:{}:{}: {message}",
            at.file(),
            at.line(),
            at.column()
        ),
        None => format!("panicked: {message}"),
    };
    let backtrace = Backtrace::capture();
    if backtrace.status() == BacktraceStatus::Captured {
        report.push_str(&format!("\nstack backtrace:\n{backtrace}"));
    }
    report
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_report_with_location() {
        let err = catch(|| panic!("deliberate {}", 1)).unwrap_err();
        assert!(err.starts_with("panicked at "), "{err}");
        assert!(err.contains("panic.rs:"), "{err}");
        assert!(err.contains(": deliberate 1"), "{err}");
        assert_eq!(catch(|| 5).unwrap(), 5);
    }

    #[test]
    fn nested_catches_report_to_the_innermost() {
        let outer = catch(|| {
            let inner = catch(|| panic!("inner"));
            assert!(inner.unwrap_err().contains("inner"));
            panic!("outer")
        });
        assert!(outer.unwrap_err().contains("outer"));
    }
}
