//! Reading inputs as a stream of batches of whole documents, parsed and checked on every
//! core, with the results in input order.
//!
//! A manifest stream is read a few MiB at a time and cut at document markers, so memory
//! holds a handful of batches whatever the input's size (a 100 MB `helm template` output
//! never sits in memory whole). Each batch is parsed and checked by one of the worker
//! threads; batches are numbered and their results put back in order. Objects keep only
//! what the rules and the planner read (`yaml::OBJECT`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use super::{Document, InputError, Spot, for_each_document_at, is_document_marker};

/// The size of the batches handed to workers: large enough that a batch costs far more
/// than passing it between threads, small enough to keep every core busy on small inputs.
const BATCH_BYTES: usize = 1 << 20;
/// One document (or one file without markers) larger than this is refused before it is
/// parsed: the API server's limit is 3 MiB per object, and a `List` this large is better
/// given as a stream of documents.
pub const MAX_DOCUMENT_BYTES: usize = 64 << 20;

/// What one batch gave: the checked objects and the input errors, in input order.
pub struct Checked<T> {
    pub objects: Vec<T>,
    pub errors: Vec<InputError>,
}

/// Reads every input in `paths` (`-` is stdin), parses and checks each document with
/// `check` on every core, and returns the results in input order.
pub fn check_inputs<T: Send>(
    paths: &[PathBuf],
    check: impl Fn(Document) -> Option<T> + Sync,
) -> Checked<T> {
    let mut objects = Vec::new();
    let errors = for_each_checked(paths, check, |object| objects.push(object));
    Checked { objects, errors }
}

/// Like [`check_inputs`], but hands each result to `consume` in input order as soon as it
/// is ready, so a caller that sorts results into its own collections never holds them
/// twice; returns the input errors.
pub fn for_each_checked<T: Send>(
    paths: &[PathBuf],
    check: impl Fn(Document) -> Option<T> + Sync,
    consume: impl FnMut(T),
) -> Vec<InputError> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (batches_tx, batches_rx) = sync_channel::<(usize, Batch)>(workers);
    let batches_rx = Mutex::new(batches_rx);
    let (results_tx, results_rx) = sync_channel::<(usize, Checked<T>)>(workers * 2);
    std::thread::scope(|scope| {
        scope.spawn(move || read_all(paths, &batches_tx));
        for _ in 0..workers {
            let results_tx = results_tx.clone();
            let (batches_rx, check) = (&batches_rx, &check);
            scope.spawn(move || work(batches_rx, &results_tx, check));
        }
        drop(results_tx);
        in_order(&results_rx, consume)
    })
}

/// Whole documents of one input, or an error that ends reading it.
enum Batch {
    Text {
        source: Arc<str>,
        first_line: usize,
        text: String,
    },
    Error(InputError),
}

fn work<T>(
    batches: &Mutex<Receiver<(usize, Batch)>>,
    results: &SyncSender<(usize, Checked<T>)>,
    check: &(impl Fn(Document) -> Option<T> + Sync),
) {
    loop {
        let next = batches.lock().map(|rx| rx.recv());
        let Ok(Ok((number, batch))) = next else {
            return;
        };
        let checked = match batch {
            Batch::Error(err) => Checked {
                objects: Vec::new(),
                errors: vec![err],
            },
            Batch::Text {
                source,
                first_line,
                text,
            } => {
                let mut objects = Vec::new();
                let errors = for_each_document_at(&source, &text, first_line, true, |doc| {
                    objects.extend(check(doc));
                });
                Checked { objects, errors }
            }
        };
        if results.send((number, checked)).is_err() {
            return;
        }
    }
}

/// Puts numbered results back in order as they arrive.
fn in_order<T>(
    results: &Receiver<(usize, Checked<T>)>,
    mut consume: impl FnMut(T),
) -> Vec<InputError> {
    let mut errors = Vec::new();
    let mut waiting = BTreeMap::new();
    let mut next = 0;
    for (number, checked) in results {
        waiting.insert(number, checked);
        while let Some(checked) = waiting.remove(&next) {
            checked.objects.into_iter().for_each(&mut consume);
            errors.extend(checked.errors);
            next += 1;
        }
    }
    errors
}

fn read_all(paths: &[PathBuf], batches: &SyncSender<(usize, Batch)>) {
    let mut number = 0;
    let mut send = |batch: Batch| {
        // The receivers only go away when the program is ending.
        let _ = batches.send((number, batch));
        number += 1;
    };
    for path in paths {
        if let Err(err) = read_one(path, &mut send) {
            send(Batch::Error(err));
        }
    }
}

/// Reads one input and sends it as batches of whole documents.
fn read_one(path: &Path, send: &mut impl FnMut(Batch)) -> Result<(), InputError> {
    let source: Arc<str> = if path.as_os_str() == "-" {
        "<stdin>".into()
    } else {
        path.display().to_string().into()
    };
    let fail = |line: Option<usize>, message: String| InputError {
        source: source.to_string(),
        line: line.map(Spot::line),
        message,
    };
    let mut reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| fail(None, format!("cannot read: {e}")))?)
    };
    let mut pending: Vec<u8> = Vec::new();
    let mut markers = MarkerScan::default();
    let mut first_line = 1;
    let mut offset = 0;
    loop {
        let at_start = offset == 0 && pending.is_empty();
        let read = (&mut reader)
            .take(BATCH_BYTES as u64)
            .read_to_end(&mut pending)
            .map_err(|e| fail(None, format!("cannot read: {e}")))?;
        if at_start && super::is_utf16(&pending) {
            return Err(fail(Some(1), super::UTF16_INPUT.to_owned()));
        }
        if at_start && pending.starts_with("\u{feff}".as_bytes()) {
            pending.drain(..3);
            offset += 3;
        }
        let end = read < BATCH_BYTES;
        // Cut before the last document marker, unless this is the end of the input.
        let cut = if end {
            pending.len()
        } else {
            match markers.scan(&pending) {
                Some(at) => at,
                None if pending.len() > MAX_DOCUMENT_BYTES => {
                    return Err(fail(
                        Some(first_line),
                        format!(
                            "a document larger than {} MiB (the API server takes at most \
                             3 MiB per object); split it into one document per object",
                            MAX_DOCUMENT_BYTES >> 20
                        ),
                    ));
                }
                None => continue,
            }
        };
        let rest = pending.split_off(cut);
        let bytes = std::mem::replace(&mut pending, rest);
        markers = MarkerScan::default();
        let lines = bytes.iter().filter(|&&b| b == b'\n').count();
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let line = first_line
                + e.as_bytes()[..valid]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
            fail(Some(line), super::not_utf8(offset + valid))
        })?;
        offset += text.len();
        if !text.is_empty() {
            send(Batch::Text {
                source: source.clone(),
                first_line,
                text,
            });
        }
        first_line += lines;
        if end {
            return Ok(());
        }
    }
}

/// Finds document markers in a growing buffer, looking at each byte once (a document may
/// be one line of many megabytes).
#[derive(Default)]
struct MarkerScan {
    /// Where the line being read starts.
    line_start: usize,
    /// How far the buffer has been searched.
    searched: usize,
    /// The start of the last whole marker line after the buffer's first byte.
    last: Option<usize>,
}

impl MarkerScan {
    /// Searches the bytes added since the last call; returns the last marker's start.
    fn scan(&mut self, bytes: &[u8]) -> Option<usize> {
        while let Some(newline) = bytes[self.searched..].iter().position(|&b| b == b'\n') {
            let end = self.searched + newline;
            if self.line_start > 0 && is_document_marker(&bytes[self.line_start..=end]) {
                self.last = Some(self.line_start);
            }
            self.line_start = end + 1;
            self.searched = end + 1;
        }
        self.searched = bytes.len();
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(paths: &[PathBuf]) -> (Vec<(String, usize)>, Vec<InputError>) {
        let checked = check_inputs(paths, |doc| {
            Some((
                doc.object["metadata"]["name"].as_str()?.to_owned(),
                doc.line,
            ))
        });
        (checked.objects, checked.errors)
    }

    #[test]
    fn large_streams_come_back_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let mut text = String::new();
        let filler = "x".repeat(300);
        for i in 0..20_000 {
            text.push_str(&format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  a: {filler}\n"
            ));
        }
        std::fs::write(&path, &text).unwrap();
        let (objects, errors) = names(&[path]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(objects.len(), 20_000);
        for (i, (name, line)) in objects.iter().enumerate() {
            assert_eq!(name, &format!("c{i}"));
            assert_eq!(*line, i * 7 + 2, "{name}");
        }
    }

    #[test]
    fn errors_keep_their_file_line_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("a.yaml");
        std::fs::write(&good, "\u{feff}kind: Pod\nmetadata: {name: a}\n").unwrap();
        let broken = dir.path().join("b.yaml");
        std::fs::write(&broken, "kind: Pod\nmetadata: {name: b}\n---\nx: [\n").unwrap();
        let binary = dir.path().join("c.yaml");
        std::fs::write(&binary, b"kind: Pod\n\xff\n").unwrap();
        let missing = dir.path().join("d.yaml");
        let (objects, errors) = names(&[good, broken, binary, missing]);
        assert_eq!(objects, [("a".to_owned(), 1), ("b".to_owned(), 1)]);
        let found: Vec<_> = errors
            .iter()
            .map(|e| {
                (
                    e.source.rsplit('/').next().unwrap().to_owned(),
                    e.line.map(|s| s.line),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("b.yaml".to_owned(), Some(4)),
                ("c.yaml".to_owned(), Some(2)),
                ("d.yaml".to_owned(), None)
            ]
        );
        assert!(
            errors[1].message.contains("offset 10"),
            "{}",
            errors[1].message
        );
    }
}
