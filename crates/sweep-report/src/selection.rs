//! Picking the runs a per-class or prevalence table describes: `--where`
//! conditions and/or a run key prefix, then a check that they form one
//! configuration (per-class) or one dataset (prevalence).

use serde_json::Value;
use sweep_core::plan::PlannedRun;

use crate::error::ReportError;
use crate::filter;
use crate::group::{Grouping, group};
use crate::query::Selection;
use sweep_core::run_view::view;

/// The selected runs and their views, in plan order.
pub(crate) struct Selected<'a> {
    pub runs: Vec<&'a PlannedRun>,
    pub views: Vec<Value>,
}

impl Selected<'_> {
    pub(crate) fn view_refs(&self) -> Vec<&Value> {
        self.views.iter().collect()
    }

    /// Groups the selection and insists on a single configuration.
    pub(crate) fn one_configuration(&self) -> Result<Grouping, ReportError> {
        let g = group(&self.view_refs(), &[])?;
        if g.rows.len() > 1 {
            return Err(ReportError::SeveralConfigurations {
                count: g.rows.len(),
                fields: g
                    .columns
                    .iter()
                    .map(|f| f.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(g)
    }

    /// The single dataset of the selection.
    pub(crate) fn one_dataset(&self) -> Result<String, ReportError> {
        let mut names: Vec<&str> = self.runs.iter().map(|r| r.spec.dataset.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        match names[..] {
            [one] => Ok(one.to_string()),
            _ => Err(ReportError::SeveralDatasets(names.join(", "))),
        }
    }
}

pub(crate) fn select<'a>(
    runs: &'a [PlannedRun],
    selection: &Selection,
) -> Result<Selected<'a>, ReportError> {
    if runs.is_empty() {
        return Err(ReportError::NoRuns);
    }
    let views: Vec<Value> = runs.iter().map(|r| view(&r.spec)).collect();
    let refs: Vec<&Value> = views.iter().collect();
    let conditions = filter::compile(&selection.filters, &refs)?;
    let key = selection.key.as_deref().map(str::trim);
    let keep: Vec<usize> = (0..runs.len())
        .filter(|&i| conditions.matches(&views[i]))
        .filter(|&i| match key {
            Some(k) => runs[i]
                .key
                .as_ref()
                .is_some_and(|rk| rk.as_str().starts_with(k)),
            None => true,
        })
        .collect();
    if keep.is_empty() {
        let mut filter: Vec<String> = selection.filters.iter().map(ToString::to_string).collect();
        if let Some(k) = key {
            filter.push(format!("key {k}"));
        }
        let seen = if conditions.is_empty() {
            String::new()
        } else {
            format!(" (values present: {})", conditions.seen_values(&refs))
        };
        return Err(ReportError::NoMatch {
            filter: filter.join(" "),
            seen,
        });
    }
    Ok(Selected {
        runs: keep.iter().map(|&i| &runs[i]).collect(),
        views: keep.iter().map(|&i| views[i].clone()).collect(),
    })
}
