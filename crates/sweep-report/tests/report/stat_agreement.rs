//! The statistical tests agree with SciPy (t-test, Wilcoxon) and with the
//! NumPy reference implementations (Holm, DeLong) in
//! `scripts/stat_fixtures.py`, to 1e-6, on every case of
//! `tests/fixtures/stats.json`.

use serde_json::Value;
use sweep_report::stats::{
    WilcoxonMethod, delong_paired, holm, paired_t_test, wilcoxon_signed_rank,
};

const TOLERANCE: f64 = 1e-6;

fn fixtures() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stats.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file")).expect("JSON")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// A fixture number: `null` is NaN, "inf"/"-inf" are infinities.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::String(s) if s == "inf" => Some(f64::INFINITY),
        Value::String(s) if s == "-inf" => Some(f64::NEG_INFINITY),
        other => Some(other.as_f64().expect("number")),
    }
}

fn close(got: f64, want: f64, what: &str) {
    let ok = if want.is_infinite() {
        got == want
    } else {
        (got - want).abs() <= TOLERANCE * want.abs().max(1.0)
    };
    assert!(ok, "{what}: got {got}, want {want}");
}

#[test]
fn paired_t_test_matches_scipy_ttest_rel() {
    let f = fixtures();
    let cases = f["paired"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let (x, y) = (floats(&c["x"]), floats(&c["y"]));
        let want = &c["ttest"];
        let got = paired_t_test(&x, &y);
        match number(&want["pvalue"]) {
            None => assert!(
                got.is_none(),
                "{name}: expected an undefined test, got {got:?}"
            ),
            Some(p) => {
                let got = got.unwrap_or_else(|| panic!("{name}: no result"));
                close(got.p_value, p, &format!("{name} p"));
                close(
                    got.statistic,
                    number(&want["statistic"]).unwrap(),
                    &format!("{name} t"),
                );
                close(got.df, want["df"].as_f64().unwrap(), &format!("{name} df"));
                close(
                    got.mean_difference,
                    want["mean_difference"].as_f64().unwrap(),
                    &format!("{name} mean"),
                );
            }
        }
    }
}

#[test]
fn wilcoxon_matches_scipy_defaults_in_every_branch() {
    let f = fixtures();
    let mut methods = Vec::new();
    for c in f["paired"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (x, y) = (floats(&c["x"]), floats(&c["y"]));
        let want = &c["wilcoxon"];
        let got = wilcoxon_signed_rank(&x, &y).unwrap_or_else(|| panic!("{name}: no result"));
        close(
            got.p_value,
            want["pvalue"].as_f64().unwrap(),
            &format!("{name} p"),
        );
        close(
            got.statistic,
            want["statistic"].as_f64().unwrap(),
            &format!("{name} statistic"),
        );
        let expected = match want["method"].as_str().unwrap() {
            "exact" => Some(WilcoxonMethod::Exact),
            "permutation" => Some(WilcoxonMethod::Permutation),
            "normal" => Some(WilcoxonMethod::Normal),
            _ => None,
        };
        if let Some(m) = expected {
            assert_eq!(got.method, m, "{name}");
            methods.push(m);
        }
    }
    for m in [
        WilcoxonMethod::Exact,
        WilcoxonMethod::Permutation,
        WilcoxonMethod::Normal,
    ] {
        assert!(methods.contains(&m), "no fixture exercises {m:?}");
    }
}

#[test]
fn holm_matches_the_reference() {
    let f = fixtures();
    for c in f["holm"].as_array().unwrap() {
        let p: Vec<Option<f64>> = c["pvalues"]
            .as_array()
            .unwrap()
            .iter()
            .map(number)
            .collect();
        let want: Vec<Option<f64>> = c["adjusted"]
            .as_array()
            .unwrap()
            .iter()
            .map(number)
            .collect();
        let got = holm(&p);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            match (g, w) {
                (Some(g), Some(w)) => close(*g, *w, "holm"),
                (None, None) => {}
                _ => panic!("holm {p:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}

fn check_test(got: &sweep_report::stats::DelongTest, want: &Value, what: &str) {
    close(
        got.auc_a,
        want["auc_a"].as_f64().unwrap(),
        &format!("{what} auc_a"),
    );
    close(
        got.auc_b,
        want["auc_b"].as_f64().unwrap(),
        &format!("{what} auc_b"),
    );
    close(
        got.difference,
        want["difference"].as_f64().unwrap(),
        &format!("{what} difference"),
    );
    close(
        got.variance,
        want["variance"].as_f64().unwrap(),
        &format!("{what} variance"),
    );
    match (got.p_value, number(&want["pvalue"])) {
        (Some(g), Some(w)) => close(g, w, &format!("{what} p")),
        (None, None) => {}
        (g, w) => panic!("{what}: p {g:?} vs {w:?}"),
    }
    match (got.z, number(&want["z"])) {
        (Some(g), Some(w)) => close(g, w, &format!("{what} z")),
        (None, None) => {}
        (g, w) => panic!("{what}: z {g:?} vs {w:?}"),
    }
}

#[test]
fn delong_matches_the_numpy_reference() {
    let f = fixtures();
    let cases = f["delong"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let outputs = c["outputs"].as_u64().unwrap() as usize;
        let y: Vec<u8> = c["y"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u8)
            .collect();
        let r = delong_paired(&y, &floats(&c["a"]), &floats(&c["b"]), outputs).unwrap();
        let used: Vec<usize> = c["used"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(r.used, used, "{name}");
        for (l, want) in c["per_output"].as_array().unwrap().iter().enumerate() {
            match (&r.per_output[l], want.is_null()) {
                (Some(got), false) => check_test(got, want, &format!("{name} output {l}")),
                (None, true) => {}
                (got, _) => panic!("{name} output {l}: {got:?} vs {want}"),
            }
        }
        check_test(
            r.macro_avg.as_ref().unwrap(),
            &c["macro"],
            &format!("{name} macro"),
        );
    }
}
