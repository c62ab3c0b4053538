//! Fuzzes the jobs-file parser and checker: any text. Neither may panic, and
//! every rejection of a parsed file names a job and a field.
#![no_main]

use edba_tasks::jobs::{check_jobs, parse_jobs_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(file) = parse_jobs_file(text) else { return };
    if let Err(errors) = check_jobs(&file, None) {
        assert!(!errors.is_empty());
        for error in errors {
            assert!(!error.field.is_empty(), "{error}");
            assert!(!error.message.is_empty(), "{error}");
        }
    }
});
