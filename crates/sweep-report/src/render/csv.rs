//! CSV: one header row and plain numbers (full precision, empty = missing),
//! so `pandas.read_csv` loads it without any cleaning.

use crate::document::Records;

pub(super) fn render(records: &Records) -> String {
    let mut w = ::csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for r in records {
        w.write_record(r).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("records are UTF-8")
}
