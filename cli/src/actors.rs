//! `actors`: who is registered on a ledger, with which role and keys, since when, and whether still active.

use crate::Output;
use crate::error::{CliError, EXIT_OK};
use crate::format::{counted, group, iso8601, short, table};
use crate::ids::IdQuery;
use crate::open::{open_ledger, with_opened};
use clap::Args;
use clap::builder::TypedValueParser as _;
use healthchain::hash::to_hex;
use healthchain::{Actor, Ledger, Role, Store, View};
use indicatif::ProgressBar;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Arguments of `actors`.
#[derive(Debug, Args)]
pub struct ActorsArgs {
    /// The ledger file.
    path: PathBuf,
    /// Show only this actor: its id, or a unique prefix of it of at least 4 hexadecimal digits.
    #[arg(value_name = "ACTOR_ID", conflicts_with = "role")]
    actor: Option<String>,
    /// List only the actors of this role (repeat it, or separate roles with commas, for several).
    #[arg(long, value_delimiter = ',', ignore_case = true, value_parser = role_parser())]
    role: Vec<Role>,
    /// Print ids and keys in full in the text listing (JSON always has them in full).
    #[arg(long)]
    full_ids: bool,
}

/// Parses a role by the ledger's own name for it (`Role::name`), in any case.
fn role_parser() -> impl clap::builder::TypedValueParser<Value = Role> {
    clap::builder::PossibleValuesParser::new(Role::ALL.map(Role::name)).try_map(|name: String| {
        let name = name.to_ascii_lowercase();
        Role::from_name(&name).ok_or("not a role")
    })
}

/// Where and when something happened on the ledger.
#[derive(Clone, Copy, Debug)]
struct When {
    height: u64,
    time: u64,
}

impl When {
    fn json(self) -> Value {
        json!({ "height": self.height, "time": iso8601(self.time), "time_ms": self.time })
    }

    fn text(self) -> String {
        format!("{} (block {})", iso8601(self.time), self.height)
    }
}

/// One actor and what the listing says about it.
struct Entry {
    actor: Actor,
    registered: Option<When>,
    deactivated: Option<When>,
    /// For patients: when their off-ledger data was erased.
    erased: Option<When>,
}

impl Entry {
    fn new(view: &View<'_>, actor: Actor) -> Self {
        let when = |height: u64, time: u64| When { height, time };
        Self {
            registered: actor.registered().map(|s| when(s.height, s.time)),
            deactivated: actor.deactivated.map(|s| when(s.height, s.time)),
            erased: view.erased(&actor.id).map(|s| when(s.height, s.time)),
            actor,
        }
    }

    /// `active`, `deactivated` or `erased` (an erased patient's record is gone, whatever else is true).
    fn status(&self) -> &'static str {
        match (self.erased, self.deactivated) {
            (Some(_), _) => "erased",
            (None, Some(_)) => "deactivated",
            (None, None) => "active",
        }
    }

    /// The status with its time and block, e.g. `deactivated 2026-01-02T10:00:00Z (block 7)`.
    fn status_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(erased) = self.erased {
            parts.push(format!("erased {}", erased.text()));
        }
        if let Some(deactivated) = self.deactivated {
            parts.push(format!("deactivated {}", deactivated.text()));
        }
        if parts.is_empty() { "active".to_owned() } else { parts.join(", ") }
    }

    fn rotations(&self) -> usize {
        self.actor.keys.len().saturating_sub(1)
    }

    fn current_key(&self) -> String {
        self.actor.keys.last().map(|epoch| to_hex(&epoch.key.to_bytes())).unwrap_or_default()
    }

    fn json(&self) -> Value {
        let keys: Vec<Value> = self
            .actor
            .keys
            .iter()
            .map(|epoch| {
                json!({
                    "public_key": to_hex(&epoch.key.to_bytes()),
                    "from_height": epoch.from.height,
                    "from_time": iso8601(epoch.from.time),
                    "from_time_ms": epoch.from.time,
                })
            })
            .collect();
        json!({
            "id": self.actor.id.to_string(),
            "role": self.actor.role.name(),
            "registered_height": self.registered.map(|w| w.height),
            "registered_time": self.registered.map(|w| iso8601(w.time)),
            "registered_time_ms": self.registered.map(|w| w.time),
            "public_key": self.current_key(),
            "key_rotations": self.rotations(),
            "keys": keys,
            "status": self.status(),
            "deactivated": self.deactivated.map_or(Value::Null, When::json),
            "erased": self.erased.map_or(Value::Null, When::json),
        })
    }

    /// The listing's row: id, role, registered, block, current key, rotations, status.
    fn row(&self, full: bool) -> [String; 7] {
        [
            short(&self.actor.id.to_string(), full).to_owned(),
            self.actor.role.name().to_owned(),
            self.registered.map(|w| iso8601(w.time)).unwrap_or_default(),
            self.registered.map(|w| w.height.to_string()).unwrap_or_default(),
            short(&self.current_key(), full).to_owned(),
            self.rotations().to_string(),
            self.status_text(),
        ]
    }

    /// Everything about one actor, its key history included.
    fn detail(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "actor         {}", self.actor.id);
        let _ = writeln!(text, "role          {}", self.actor.role.name());
        let registered = self.registered.map(When::text).unwrap_or_default();
        let _ = writeln!(text, "registered    {registered}");
        let _ = writeln!(text, "status        {}", self.status_text());
        let rotations = self.rotations();
        let _ = writeln!(text, "keys          {} ({rotations} rotation{})", rotations + 1, plural(rotations));
        let epochs = &self.actor.keys;
        for (i, epoch) in epochs.iter().enumerate().rev() {
            let since = When { height: epoch.from.height, time: epoch.from.time }.text();
            let line = match epochs.get(i + 1) {
                None => format!("  current     {}  since {since}", to_hex(&epoch.key.to_bytes())),
                Some(next) => {
                    let until = When { height: next.from.height, time: next.from.time }.text();
                    format!("  previous    {}  {since} to {until}", to_hex(&epoch.key.to_bytes()))
                }
            };
            let _ = writeln!(text, "{line}");
        }
        text
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `healthchain actors PATH [ACTOR_ID] [--role ROLE]…`.
pub fn run(args: &ActorsArgs, json: bool) -> Result<Output, CliError> {
    // The id's form is checked before a possibly long replay.
    let query = args.actor.as_deref().map(|text| IdQuery::parse(text, "actor id")).transpose()?;
    with_opened!(open_ledger(&args.path, json)?, |ledger| list(&ledger, args, query.as_ref(), json))
}

/// `healthchain actors` on the opened ledger.
fn list<S: Store>(
    ledger: &Ledger<S>,
    args: &ActorsArgs,
    query: Option<&IdQuery>,
    json: bool,
) -> Result<Output, CliError> {
    let state = ledger.state();
    let view = state.latest();
    let roles = args.role.as_slice();
    let all = view.actors();
    let total = all.len();
    let chosen = match &query {
        Some(query) => vec![query.resolve(state, &args.path)?],
        None => all,
    };
    let mut entries: Vec<Entry> = chosen
        .into_iter()
        .filter(|actor| roles.is_empty() || roles.contains(&actor.role))
        .map(|actor| Entry::new(&view, actor))
        .collect();
    // In order of registration (the core lists actors in id order); ties stay in id order.
    entries.sort_by_key(|e| e.registered.map(|w| (w.height, w.time)));

    // Only the form asked for is built: a listing of millions of actors takes a while.
    let bar = crate::progress(entries.len() as u64, json, "actors");
    let output = if json {
        Output {
            code: EXIT_OK,
            json: listing_json(&args.path, &entries, total, roles),
            text: String::new(),
            stderr: None,
        }
    } else {
        let text = match (&query, entries.first()) {
            (Some(_), Some(entry)) => entry.detail(),
            _ => listing_text(&args.path, &entries, total, roles, args.full_ids, &bar),
        };
        Output { code: EXIT_OK, json: Value::Null, text, stderr: None }
    };
    bar.finish_and_clear();
    Ok(output)
}

/// The JSON listing: the filter, the counts and every actor in full.
fn listing_json(path: &Path, entries: &[Entry], total: usize, roles: &[Role]) -> Value {
    let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
    let by_role: serde_json::Map<String, Value> =
        role_counts(entries).iter().map(|(role, n)| (role.name().to_owned(), json!(n))).collect();
    json!({
        "path": path.display().to_string(),
        "roles": if names.is_empty() { Value::Null } else { json!(names) },
        "total_actors": total,
        "count": entries.len(),
        "by_role": by_role,
        "actors": entries.iter().map(Entry::json).collect::<Vec<_>>(),
    })
}

/// How many of `entries` have each role, in role order.
fn role_counts(entries: &[Entry]) -> Vec<(Role, u64)> {
    Role::ALL.iter().map(|role| (*role, entries.iter().filter(|e| e.actor.role == *role).count() as u64)).collect()
}

/// The text listing: a summary line, then one row per actor.
fn listing_text(path: &Path, entries: &[Entry], total: usize, roles: &[Role], full: bool, bar: &ProgressBar) -> String {
    let counts: Vec<String> =
        role_counts(entries).into_iter().filter(|(_, n)| *n > 0).map(|(role, n)| counted(n, role)).collect();
    let mut text = String::new();
    let _ = writeln!(text, "ledger        {}", path.display());
    let summary = if counts.is_empty() { "none".to_owned() } else { counts.join(", ") };
    if roles.is_empty() {
        let _ = writeln!(text, "actors        {}: {summary}", group(total as u64));
    } else {
        let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        let (shown, total) = (group(entries.len() as u64), group(total as u64));
        let _ = writeln!(text, "actors        {shown} of {total} ({}): {summary}", names.join(", "));
    }
    if !entries.is_empty() {
        let rows: Vec<[String; 7]> = entries.iter().inspect(|_| bar.inc(1)).map(|e| e.row(full)).collect();
        text.push('\n');
        text.push_str(&table(["id", "role", "registered (UTC)", "block", "current key", "rotations", "status"], &rows));
    }
    text
}
