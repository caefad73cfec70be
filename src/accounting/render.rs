//! An accounting as JSON, CSV (RFC 4180) or a printable HTML page, each with the ledger's checkpoint and
//! how to verify it.

use super::{Accounting, Disclosure};
use crate::codes::Action;
use crate::fhir::datetime::format_instant;
use crate::hash::to_hex;
use crate::tx::AccessBasis;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

/// How a reader checks the accounting against the ledger.
fn how_to_verify(a: &Accounting) -> String {
    format!(
        "The ledger's checkpoint when this accounting was made: origin {}, {} transactions, Merkle root {} \
         (SHA-256, base64). With the ledger file and a checkpoint signed by its authorities (`healthchain \
         checkpoint create`), `healthchain verify LEDGER --checkpoint NOTE --authority-key KEY.vkey` checks \
         every block and that the ledger holds the checkpoint; each line's receipt, when present, is checked \
         offline with `healthchain verify-receipt RECEIPT --authority-key KEY.vkey`.",
        a.checkpoint.origin,
        a.checkpoint.size,
        BASE64.encode(a.checkpoint.root.0)
    )
}

fn date(ms: u64) -> String {
    i64::try_from(ms).ok().and_then(format_instant).unwrap_or_else(|| ms.to_string())
}

fn action(action: Action) -> &'static str {
    match action {
        Action::Read => "read",
        Action::Write => "write",
    }
}

/// What allowed the access, in words.
fn basis(d: &Disclosure) -> String {
    match &d.basis {
        AccessBasis::Owner => "the patient".to_owned(),
        AccessBasis::Delegate(id) => format!("delegation {}", to_hex(id.as_bytes())),
        AccessBasis::Consents(ids) => {
            let ids: Vec<String> = ids.iter().map(|id| to_hex(id.as_bytes())).collect();
            format!("consent {}", ids.join(", "))
        }
        AccessBasis::BreakGlass { reason, .. } => {
            let review = match &d.review {
                None => "review pending".to_owned(),
                Some(r) if r.justified => format!("reviewed {}: justified", date(r.reviewed.time)),
                Some(r) => format!("reviewed {}: not justified", date(r.reviewed.time)),
            };
            format!("break-glass ({}; {review})", reason.as_str())
        }
    }
}

fn recipient(d: &Disclosure) -> String {
    d.recipient_name.clone().unwrap_or_else(|| format!("actor {}", to_hex(d.recipient.as_bytes())))
}

/// The accounting as JSON: the disclosures to account for, and the excluded ones with their reason.
pub fn json(a: &Accounting) -> String {
    let line = |d: &Disclosure| {
        json!({
            "access": to_hex(d.access.as_bytes()),
            "date": date(d.at),
            "recipient": recipient(d),
            "recipient_id": to_hex(d.recipient.as_bytes()),
            "description": format!("{}: {}", d.section.as_str(), action(d.action)),
            "purpose": d.purpose.as_str(),
            "basis": basis(d),
            "excluded": d.excluded,
            "receipt": d.receipt,
        })
    };
    let (excluded, accounted): (Vec<&Disclosure>, Vec<&Disclosure>) =
        a.disclosures.iter().partition(|d| d.excluded.is_some());
    let value: Value = json!({
        "patient": to_hex(a.patient.as_bytes()),
        "patient_name": a.patient_name,
        "from": date(a.from),
        "until": date(a.until),
        "ledger": to_hex(a.chain.as_bytes()),
        "checkpoint": {
            "origin": a.checkpoint.origin,
            "size": a.checkpoint.size,
            "root": BASE64.encode(a.checkpoint.root.0),
            "signed": a.signed_checkpoint,
        },
        "how_to_verify": how_to_verify(a),
        "disclosures": accounted.into_iter().map(line).collect::<Vec<_>>(),
        "excluded": excluded.into_iter().map(line).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` is prefixed with `'` so that a spreadsheet never reads a field as a formula.
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

/// The accounting as CSV: a header, then one line per access in ledger order (`excluded` empty for the
/// disclosures to account for).
pub fn csv(a: &Accounting) -> String {
    let mut out = String::from("date,recipient,recipient_id,description,purpose,basis,excluded,access\r\n");
    for d in &a.disclosures {
        let fields = [
            date(d.at),
            recipient(d),
            to_hex(d.recipient.as_bytes()),
            format!("{}: {}", d.section.as_str(), action(d.action)),
            d.purpose.as_str().to_owned(),
            basis(d),
            d.excluded.clone().unwrap_or_default(),
            to_hex(d.access.as_bytes()),
        ];
        out.push_str(&fields.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// Text made safe for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn rows(list: &[&Disclosure], with_reason: bool) -> String {
    let mut out = String::new();
    for d in list {
        out.push_str("<tr>");
        let mut cells = vec![
            date(d.at),
            recipient(d),
            format!("{}: {}", d.section.as_str(), action(d.action)),
            d.purpose.as_str().to_owned(),
            basis(d),
        ];
        if with_reason {
            cells.push(d.excluded.clone().unwrap_or_default());
        }
        for cell in cells {
            out.push_str(&format!("<td>{}</td>", escape(&cell)));
        }
        out.push_str("</tr>\n");
    }
    out
}

/// The accounting as a printable HTML page: the disclosures, the excluded accesses with their reason, the
/// checkpoint and how to verify it.
pub fn html(a: &Accounting) -> String {
    let (excluded, accounted): (Vec<&Disclosure>, Vec<&Disclosure>) =
        a.disclosures.iter().partition(|d| d.excluded.is_some());
    let who = a.patient_name.clone().unwrap_or_else(|| format!("patient {}", to_hex(a.patient.as_bytes())));
    let head = "<tr><th>Date</th><th>Recipient</th><th>Description</th><th>Purpose</th><th>Basis</th>";
    let mut page = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Accounting of disclosures</title>\n\
         <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}\
         th,td{border:1px solid #999;padding:4px;text-align:left;vertical-align:top}\
         @media print{body{margin:0}}</style>\n</head>\n<body>\n",
    );
    page.push_str(&format!(
        "<h1>Accounting of disclosures</h1>\n<p>{} &mdash; from {} until {} (45 CFR &sect;164.528)</p>\n",
        escape(&who),
        escape(&date(a.from)),
        escape(&date(a.until))
    ));
    page.push_str(&format!("<h2>Disclosures ({})</h2>\n<table>\n{head}</tr>\n", accounted.len()));
    page.push_str(&rows(&accounted, false));
    page.push_str(&format!(
        "</table>\n<h2>Excluded from the accounting ({})</h2>\n<table>\n{head}<th>Why</th></tr>\n",
        excluded.len()
    ));
    page.push_str(&rows(&excluded, true));
    page.push_str(&format!(
        "</table>\n<h2>How to verify</h2>\n<p>{}</p>\n</body>\n</html>\n",
        escape(&how_to_verify(a))
    ));
    page
}
