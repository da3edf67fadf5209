//! Ruby exception classes (defined in lib/ucrawler_native/error.rb) and `catch_panics`: no Rust
//! panic may reach Ruby, where magnus would turn it into an uncatchable `fatal`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use magnus::value::Lazy;
use magnus::{prelude::*, Error, ExceptionClass, RModule, Ruby};
use ucrawler::error::panic_message;

fn class(ruby: &Ruby, name: &str) -> ExceptionClass {
    ruby.class_object()
        .const_get::<_, RModule>("UcrawlerNative")
        .and_then(|m| m.const_get::<_, ExceptionClass>(name))
        .unwrap_or_else(|_| ruby.exception_runtime_error())
}

static ERROR: Lazy<ExceptionClass> = Lazy::new(|ruby| class(ruby, "Error"));
static CONFIG_ERROR: Lazy<ExceptionClass> = Lazy::new(|ruby| class(ruby, "ConfigError"));
static INTERNAL_ERROR: Lazy<ExceptionClass> = Lazy::new(|ruby| class(ruby, "InternalError"));
static NOT_FOUND_ERROR: Lazy<ExceptionClass> = Lazy::new(|ruby| class(ruby, "NotFoundError"));

pub fn error(ruby: &Ruby, message: impl Into<String>) -> Error {
    Error::new(ruby.get_inner(&ERROR), message.into())
}

pub fn config_error(ruby: &Ruby, message: impl Into<String>) -> Error {
    Error::new(
        ruby.get_inner(&CONFIG_ERROR),
        without_json_position(message.into()),
    )
}

/// The options travel to the engine as JSON the Ruby layer wrote: the JSON parser's
/// `… at line 1 column 101` names a place in a text the user never saw.
fn without_json_position(mut message: String) -> String {
    if let Some(at) = message.rfind(" at line ") {
        let rest = &message[at + " at line ".len()..];
        let position = rest
            .split_once(" column ")
            .filter(|(line, column)| is_number(line) && is_number(column));
        if position.is_some() {
            message.truncate(at);
        }
    }
    message
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

pub fn not_found_error(ruby: &Ruby, message: impl Into<String>) -> Error {
    Error::new(ruby.get_inner(&NOT_FOUND_ERROR), message.into())
}

pub fn internal_error(ruby: &Ruby, message: impl Into<String>) -> Error {
    Error::new(ruby.get_inner(&INTERNAL_ERROR), message.into())
}

/// Runs a native method body, turning a panic into `UcrawlerNative::InternalError`.
pub fn catch_panics<T>(ruby: &Ruby, body: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(panic) => Err(internal_error(
            ruby,
            format!(
                "panic in ucrawler_native: {}",
                panic_message(panic.as_ref())
            ),
        )),
    }
}

/// `UcrawlerNative::Native.panic!`: proves in the specs that a panic becomes an InternalError.
pub fn test_panic(ruby: &Ruby) -> Result<(), Error> {
    catch_panics(ruby, || panic!("deliberate panic for the specs"))
}
