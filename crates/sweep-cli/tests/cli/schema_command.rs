//! `sweep schema` prints the editor schema, byte for byte the copy committed
//! in docs/ (whose freshness sweep-core's tests check against the generator).

use std::path::Path;

use crate::common;

#[test]
fn schema_prints_the_committed_json_schema() {
    let out = common::sweep(&["schema"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let committed = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/experiment.schema.json"),
    )
    .unwrap();
    assert!(
        out.stdout == committed,
        "`sweep schema` differs from docs/experiment.schema.json; refresh it with \
         `sweep schema > docs/experiment.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(schema["properties"]["grid"]["properties"]["lr"].is_object());
}
