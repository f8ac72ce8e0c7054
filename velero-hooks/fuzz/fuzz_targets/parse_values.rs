//! Go durations, commands and booleans from arbitrary strings: never a panic, and a
//! parsed duration always formats and parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use velero_hooks::command::parse_command;
use velero_hooks::duration::{format_go_duration, parse_go_duration};
use velero_hooks::hook::parse_go_bool;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(nanos) = parse_go_duration(text) {
        assert_eq!(parse_go_duration(&format_go_duration(nanos)), Ok(nanos));
    }
    let _ = parse_command(text);
    let _ = parse_go_bool(text);
});
