//! One bridge's OpenFlow tables and groups, and the OpenFlow 1.3 flow-mod semantics.
//!
//! [`Pipeline::apply`] implements add (with replace and `check_overlap`), modify and delete in
//! their strict and non-strict forms with cookie masks and `out_port`/`out_group` filters,
//! per-table flow limits, and group references. Batches ([`Pipeline::apply_bundle`]) are
//! all-or-nothing: every rule a bundle adds or removes is journaled, and a failing bundle is
//! undone from the journal (the tables are never copied). Every change bumps [`Pipeline::generation`] so the datapath knows its cached
//! megaflows must be revalidated.

use crate::action::Action;
use crate::classifier::{Classifier, Version};
use crate::compact_match::CompactMatch;
use crate::flow_match::Match;
use crate::flow_mod::{
    flags, Bucket, FlowMod, FlowModCommand, GroupMod, GroupModCommand, GroupType, GROUP_ALL, TABLE_ALL,
};
use crate::port::PortNo;
use crate::rule::{Millis, RemovedReason, RemovedRule, Rule, RuleStats};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use thiserror::Error;

/// Number of OpenFlow tables (0..=254).
pub const N_TABLES: usize = 255;

/// Default per-table flow limit (Open vSwitch's default is unlimited; we bound memory).
pub const DEFAULT_MAX_FLOWS: usize = 1_000_000;

/// Why a flow-mod or group-mod was refused; the agent maps each to an `OFPT_ERROR`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FlowModError {
    /// Table id out of range (or `all` where one table is needed).
    #[error("table {0} does not exist")]
    BadTableId(u8),
    /// The table is at its flow limit.
    #[error("table {0} is full")]
    TableFull(u8),
    /// `check_overlap` found an overlapping flow of the same priority.
    #[error("flow overlaps an existing flow of the same priority")]
    Overlap,
    /// A match prerequisite is missing.
    #[error("bad match: {0}")]
    BadMatch(#[from] crate::flow_match::PrereqError),
    /// `goto_table` does not go forward.
    #[error("goto_table:{to} from table {from} must go to a later table")]
    BadGotoTable {
        /// Table of the flow.
        from: u8,
        /// Target table.
        to: u8,
    },
    /// A group action names a group that does not exist.
    #[error("group {0} does not exist")]
    UnknownGroup(u32),
    /// A group-add for a group that exists.
    #[error("group {0} already exists")]
    GroupExists(u32),
    /// An invalid group (bad id, bucket count for its type, chained loop).
    #[error("invalid group {0}: {1}")]
    BadGroup(u32, &'static str),
    /// An invalid action (bad field width, output to a reserved port where not allowed).
    #[error("bad action: {0}")]
    BadAction(String),
}

/// A group entry.
#[derive(Debug, Clone)]
pub struct Group {
    /// Id.
    pub group_id: u32,
    /// Type.
    pub group_type: GroupType,
    /// Buckets.
    pub buckets: Vec<Bucket>,
    /// When it was added.
    pub created: Millis,
    /// Packets and bytes through the group.
    pub stats: Arc<RuleStats>,
}

/// One OpenFlow table.
#[derive(Debug, Clone)]
pub struct Table {
    /// The rules.
    pub cls: Classifier<Arc<Rule>>,
    /// Maximum number of rules.
    pub max_flows: usize,
    /// Name reported by table features / dump-tables.
    pub name: Option<String>,
    /// Lookups in this table (shared counters survive bundle clones).
    pub lookups: Arc<AtomicU64>,
    /// Lookups that found a rule.
    pub matched: Arc<AtomicU64>,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            cls: Classifier::new(),
            max_flows: DEFAULT_MAX_FLOWS,
            name: None,
            lookups: Arc::default(),
            matched: Arc::default(),
        }
    }
}

impl Table {
    /// Counts a lookup for dump-tables.
    pub fn count_lookup(&self, matched: bool) {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        if matched {
            self.matched.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What applying a flow-mod did, for the agent (flow-removed messages) and the datapath.
#[derive(Debug, Default)]
pub struct ModEffects {
    /// Rules removed (by delete, or replaced-with-removal), for flow-removed messages.
    pub removed: Vec<RemovedRule>,
    /// Number of rules added or modified.
    pub changed: usize,
}

/// One rule change made by a bundle, to undo if the bundle fails.
#[derive(Debug, Clone)]
enum Undo {
    /// The rule was inserted.
    Inserted(Arc<Rule>),
    /// The rule was removed.
    Removed(Arc<Rule>),
}

/// A bridge's tables and groups.
#[derive(Debug, Clone)]
pub struct Pipeline {
    tables: Vec<Table>,
    groups: BTreeMap<u32, Group>,
    version: Version,
    generation: u64,
    /// While a bundle applies: what it changed, in order.
    journal: Option<Vec<Undo>>,
    /// One shared copy of every distinct action list the rules use (flows often share theirs).
    action_lists: HashSet<Arc<[Action]>>,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Pipeline {
    /// Empty tables, no groups.
    pub fn new() -> Self {
        Pipeline {
            tables: (0..N_TABLES).map(|_| Table::default()).collect(),
            groups: BTreeMap::new(),
            version: 1,
            generation: 0,
            journal: None,
            action_lists: HashSet::new(),
        }
    }

    /// The classifier version readers should use.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Changes every time the rules or groups change (megaflows must be revalidated).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A table (`None` for 255, "all tables").
    pub fn table(&self, id: u8) -> Option<&Table> {
        self.tables.get(usize::from(id))
    }

    /// Mutable table settings (flow limit, name).
    pub fn table_mut(&mut self, id: u8) -> Option<&mut Table> {
        self.tables.get_mut(usize::from(id))
    }

    /// Every table with its id.
    pub fn tables(&self) -> impl Iterator<Item = (u8, &Table)> {
        self.tables.iter().enumerate().map(|(i, t)| (i as u8, t))
    }

    /// The groups.
    pub fn groups(&self) -> &BTreeMap<u32, Group> {
        &self.groups
    }

    /// Total number of rules.
    pub fn n_rules(&self) -> usize {
        self.tables.iter().map(|t| t.cls.len()).sum()
    }

    /// Every rule in `table_id` (or all tables) covered by `m`, passing the cookie and output
    /// filters: the selection of non-strict stats requests and deletes.
    pub fn select(
        &self,
        table_id: u8,
        m: &Match,
        cookie: u64,
        cookie_mask: u64,
        out_port: PortNo,
        out_group: u32,
    ) -> Vec<Arc<Rule>> {
        Self::table_ids(table_id)
            .flat_map(|t| self.tables[usize::from(t)].cls.iter_covered(m, self.version))
            .map(|e| &e.value)
            .filter(|r| {
                r.cookie_matches(cookie, cookie_mask) && r.outputs_to(out_port) && r.outputs_to_group(out_group)
            })
            .cloned()
            .collect()
    }

    fn select_strict(&self, fm: &FlowMod, filter_out: bool) -> Vec<Arc<Rule>> {
        Self::table_ids(fm.table_id)
            .filter_map(|t| self.tables[usize::from(t)].cls.find_exact(&fm.match_, fm.priority, self.version))
            .map(|e| &e.value)
            .filter(|r| {
                r.cookie_matches(fm.cookie, fm.cookie_mask)
                    && (!filter_out || (r.outputs_to(fm.out_port) && r.outputs_to_group(fm.out_group)))
            })
            .cloned()
            .collect()
    }

    fn table_ids(table_id: u8) -> impl Iterator<Item = u8> {
        let range = if table_id == TABLE_ALL { 0..N_TABLES as u8 } else { table_id..table_id.saturating_add(1) };
        range.filter(|t| usize::from(*t) < N_TABLES)
    }

    /// Applies one flow-mod at `now`.
    pub fn apply(&mut self, fm: &FlowMod, now: Millis) -> Result<ModEffects, FlowModError> {
        self.apply_at(fm, now, None)
    }

    /// Applies one flow-mod; `learned_by` marks rules added by a `learn` action.
    pub fn apply_at(&mut self, fm: &FlowMod, now: Millis, learned_by: Option<u64>) -> Result<ModEffects, FlowModError> {
        self.validate(fm)?;
        let mut effects = ModEffects::default();
        match fm.command {
            FlowModCommand::Add => self.add(fm, now, learned_by, &mut effects)?,
            FlowModCommand::Modify | FlowModCommand::ModifyStrict => {
                let rules = if fm.command == FlowModCommand::Modify {
                    self.select(
                        fm.table_id,
                        &fm.match_,
                        fm.cookie,
                        fm.cookie_mask,
                        PortNo::NONE,
                        crate::flow_mod::GROUP_ANY,
                    )
                } else {
                    self.select_strict(fm, false)
                };
                if rules.is_empty() {
                    // Open vSwitch adds the flow when a modify matches nothing (unless the
                    // request filters by cookie).
                    if fm.cookie_mask == 0 {
                        let mut add = fm.clone();
                        add.cookie = fm.new_cookie.unwrap_or(fm.cookie);
                        if add.table_id == TABLE_ALL {
                            add.table_id = 0;
                        }
                        self.add(&add, now, learned_by, &mut effects)?;
                    }
                } else {
                    for old in rules {
                        self.replace_actions(&old, fm, now);
                        effects.changed += 1;
                    }
                }
            }
            FlowModCommand::Delete | FlowModCommand::DeleteStrict => {
                let rules = if fm.command == FlowModCommand::Delete {
                    self.select(fm.table_id, &fm.match_, fm.cookie, fm.cookie_mask, fm.out_port, fm.out_group)
                } else {
                    self.select_strict(fm, true)
                };
                for rule in rules {
                    effects.removed.push(self.remove_rule(&rule, RemovedReason::Delete, now));
                }
            }
        }
        if effects.changed > 0 || !effects.removed.is_empty() {
            self.generation += 1;
        }
        self.forget_unused_action_lists(&effects.removed);
        Ok(effects)
    }

    /// Drops the shared action lists no rule uses any more (the rules just `removed` do not
    /// count), once there are many more lists than rules: the sweeps cost O(1) per removed
    /// rule, amortized. A list still held by a removed rule elsewhere only stops being shared.
    fn forget_unused_action_lists(&mut self, removed: &[RemovedRule]) {
        if removed.is_empty() || self.action_lists.len() <= 2 * self.n_rules() + 64 {
            return;
        }
        let mut held: HashMap<*const Action, usize> = HashMap::new();
        for r in removed {
            *held.entry(r.rule.actions.as_ptr()).or_default() += 1;
        }
        self.action_lists.retain(|a| Arc::strong_count(a) > 1 + held.get(&a.as_ptr()).copied().unwrap_or(0));
        self.action_lists.shrink_to_fit();
    }

    /// Applies a bundle of flow-mods atomically: either all apply, or none does and the index
    /// and error of the first failure are returned.
    pub fn apply_bundle(&mut self, mods: &[FlowMod], now: Millis) -> Result<ModEffects, (usize, FlowModError)> {
        let generation = self.generation;
        self.journal = Some(Vec::new());
        let mut effects = ModEffects::default();
        for (i, fm) in mods.iter().enumerate() {
            match self.apply(fm, now) {
                Ok(e) => {
                    effects.changed += e.changed;
                    effects.removed.extend(e.removed);
                }
                Err(err) => {
                    self.rollback();
                    self.generation = generation;
                    return Err((i, err));
                }
            }
        }
        self.journal = None;
        Ok(effects)
    }

    /// Undoes every change journaled since the bundle began, last first.
    fn rollback(&mut self) {
        let v = self.version;
        for undo in self.journal.take().unwrap_or_default().into_iter().rev() {
            match undo {
                Undo::Inserted(rule) => {
                    let cls = &mut self.tables[usize::from(rule.table_id)].cls;
                    cls.remove(&rule.match_(), rule.priority, v);
                    cls.purge(v);
                }
                Undo::Removed(rule) => {
                    let cls = &mut self.tables[usize::from(rule.table_id)].cls;
                    cls.insert(rule.match_(), rule.priority, rule, v);
                }
            }
        }
    }

    /// Journals a change if a bundle is applying.
    fn journal(&mut self, undo: impl FnOnce() -> Undo) {
        if let Some(j) = &mut self.journal {
            j.push(undo());
        }
    }

    fn validate(&self, fm: &FlowMod) -> Result<(), FlowModError> {
        let adds = matches!(fm.command, FlowModCommand::Add);
        if usize::from(fm.table_id) >= N_TABLES && (adds || fm.table_id != TABLE_ALL) {
            return Err(FlowModError::BadTableId(fm.table_id));
        }
        fm.match_.check_prerequisites()?;
        if matches!(fm.command, FlowModCommand::Delete | FlowModCommand::DeleteStrict) {
            return Ok(());
        }
        self.validate_actions(fm.table_id, &fm.actions)
    }

    fn validate_actions(&self, table_id: u8, actions: &[Action]) -> Result<(), FlowModError> {
        for action in actions {
            match action {
                Action::GotoTable(to) if *to <= table_id && table_id != TABLE_ALL => {
                    return Err(FlowModError::BadGotoTable { from: table_id, to: *to });
                }
                Action::GotoTable(to) if usize::from(*to) >= N_TABLES => return Err(FlowModError::BadTableId(*to)),
                Action::Group(g) if !self.groups.contains_key(g) => return Err(FlowModError::UnknownGroup(*g)),
                Action::WriteActions(inner) => self.validate_actions(table_id, inner)?,
                Action::SetField { field, .. } if !field.writable() => {
                    return Err(FlowModError::BadAction(format!("{field} is not writable")));
                }
                Action::RegMove { src, dst } if !src.is_valid() || !dst.is_valid() || src.n_bits != dst.n_bits => {
                    return Err(FlowModError::BadAction(format!("move {src:?} -> {dst:?}: bad bit range")));
                }
                Action::Output { port, .. } if *port == PortNo::NONE || *port == PortNo::TABLE => {
                    return Err(FlowModError::BadAction(format!("output to {port} is not allowed in a flow")));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn add(
        &mut self,
        fm: &FlowMod,
        now: Millis,
        learned_by: Option<u64>,
        effects: &mut ModEffects,
    ) -> Result<(), FlowModError> {
        let v = self.version;
        let actions = intern(&mut self.action_lists, &fm.actions);
        let table = &mut self.tables[usize::from(fm.table_id)];
        let existing = table.cls.find_exact(&fm.match_, fm.priority, v).map(|e| Arc::clone(&e.value));
        if existing.is_none() {
            if fm.flags & flags::CHECK_OVERLAP != 0 && table.cls.any_overlap(&fm.match_, fm.priority, v) {
                return Err(FlowModError::Overlap);
            }
            if table.cls.len() >= table.max_flows {
                return Err(FlowModError::TableFull(fm.table_id));
            }
        }
        let stats = match &existing {
            // OpenFlow 1.3 6.4: a replaced flow's counters carry over unless reset_counts.
            Some(old) if fm.flags & flags::RESET_COUNTS == 0 => Arc::clone(&old.stats),
            _ => Arc::new(RuleStats::new(now)),
        };
        if existing.is_some() {
            table.cls.remove(&fm.match_, fm.priority, v);
            table.cls.purge(v);
        }
        let rule = Rule {
            table_id: fm.table_id,
            priority: fm.priority,
            match_: CompactMatch::new(&fm.match_),
            cookie: fm.cookie,
            idle_timeout: fm.idle_timeout,
            hard_timeout: fm.hard_timeout,
            importance: fm.importance,
            flags: fm.flags,
            actions,
            created: now,
            modified: AtomicU64::new(now),
            stats,
            learned_by,
        };
        let rule = Arc::new(rule);
        table.cls.insert(fm.match_, fm.priority, Arc::clone(&rule), v);
        if let Some(old) = existing {
            self.journal(|| Undo::Removed(old));
        }
        self.journal(|| Undo::Inserted(rule));
        effects.changed += 1;
        Ok(())
    }

    fn replace_actions(&mut self, old: &Arc<Rule>, fm: &FlowMod, now: Millis) {
        let v = self.version;
        let actions = intern(&mut self.action_lists, &fm.actions);
        let table = &mut self.tables[usize::from(old.table_id)];
        let stats =
            if fm.flags & flags::RESET_COUNTS != 0 { Arc::new(RuleStats::new(now)) } else { Arc::clone(&old.stats) };
        let rule = Rule {
            table_id: old.table_id,
            priority: old.priority,
            match_: old.match_.clone(),
            cookie: fm.new_cookie.unwrap_or(old.cookie),
            idle_timeout: old.idle_timeout,
            hard_timeout: old.hard_timeout,
            importance: old.importance,
            flags: old.flags,
            actions,
            created: old.created,
            modified: AtomicU64::new(now),
            stats,
            learned_by: old.learned_by,
        };
        let m = old.match_();
        table.cls.remove(&m, old.priority, v);
        table.cls.purge(v);
        let rule = Arc::new(rule);
        table.cls.insert(m, old.priority, Arc::clone(&rule), v);
        self.journal(|| Undo::Removed(Arc::clone(old)));
        self.journal(|| Undo::Inserted(rule));
    }

    fn remove_rule(&mut self, rule: &Arc<Rule>, reason: RemovedReason, now: Millis) -> RemovedRule {
        let v = self.version;
        let table = &mut self.tables[usize::from(rule.table_id)];
        table.cls.remove(&rule.match_(), rule.priority, v);
        table.cls.purge(v);
        self.journal(|| Undo::Removed(Arc::clone(rule)));
        RemovedRule { rule: Arc::clone(rule), reason, at: now }
    }

    /// If `fm` (a learned flow) is already in its table with the same actions, refreshes its
    /// timeouts instead of changing the table; returns whether it did.
    pub fn refresh_learned(&self, fm: &FlowMod, now: Millis) -> bool {
        let Some(table) = self.table(fm.table_id) else {
            return false;
        };
        match table.cls.find_exact(&fm.match_, fm.priority, self.version) {
            Some(e) if *e.value.actions == *fm.actions && e.value.cookie == fm.cookie => {
                e.value.touch(now);
                true
            }
            _ => false,
        }
    }

    /// Removes every rule whose idle or hard timeout has passed at `now`.
    pub fn expire(&mut self, now: Millis) -> Vec<RemovedRule> {
        let expired: Vec<(Arc<Rule>, RemovedReason)> = self
            .tables
            .iter()
            .flat_map(|t| t.cls.iter(self.version))
            .filter(|e| e.value.idle_timeout != 0 || e.value.hard_timeout != 0)
            .filter_map(|e| e.value.expiry(now).map(|why| (Arc::clone(&e.value), why)))
            .collect();
        let removed: Vec<RemovedRule> = expired.iter().map(|(r, why)| self.remove_rule(r, *why, now)).collect();
        if !removed.is_empty() {
            self.generation += 1;
            self.forget_unused_action_lists(&removed);
        }
        removed
    }

    /// Applies a group-mod.
    pub fn apply_group(&mut self, gm: &GroupMod, now: Millis) -> Result<ModEffects, FlowModError> {
        let mut effects = ModEffects::default();
        match gm.command {
            GroupModCommand::Add | GroupModCommand::Modify => {
                if gm.group_id > 0xffff_ff00 {
                    return Err(FlowModError::BadGroup(gm.group_id, "reserved group id"));
                }
                if gm.group_type == GroupType::Indirect && gm.buckets.len() != 1 {
                    return Err(FlowModError::BadGroup(gm.group_id, "an indirect group needs exactly one bucket"));
                }
                for b in &gm.buckets {
                    self.validate_actions(0, &b.actions)?;
                    if b.actions.iter().any(|a| matches!(a, Action::Group(g) if *g == gm.group_id)) {
                        return Err(FlowModError::BadGroup(gm.group_id, "a group cannot chain to itself"));
                    }
                }
                let exists = self.groups.contains_key(&gm.group_id);
                if gm.command == GroupModCommand::Add && exists {
                    return Err(FlowModError::GroupExists(gm.group_id));
                }
                if gm.command == GroupModCommand::Modify && !exists {
                    return Err(FlowModError::UnknownGroup(gm.group_id));
                }
                let stats = self
                    .groups
                    .get(&gm.group_id)
                    .map_or_else(|| Arc::new(RuleStats::new(now)), |g| Arc::clone(&g.stats));
                let created = self.groups.get(&gm.group_id).map_or(now, |g| g.created);
                self.groups.insert(
                    gm.group_id,
                    Group {
                        group_id: gm.group_id,
                        group_type: gm.group_type,
                        buckets: gm.buckets.clone(),
                        created,
                        stats,
                    },
                );
                effects.changed += 1;
            }
            GroupModCommand::Delete => {
                let ids: Vec<u32> =
                    if gm.group_id == GROUP_ALL { self.groups.keys().copied().collect() } else { vec![gm.group_id] };
                for id in ids {
                    if self.groups.remove(&id).is_none() {
                        continue;
                    }
                    effects.changed += 1;
                    // OpenFlow 1.3: deleting a group deletes the flows that forward to it.
                    for rule in self.select(TABLE_ALL, &Match::ANY, 0, 0, PortNo::NONE, id) {
                        effects.removed.push(self.remove_rule(&rule, RemovedReason::GroupDelete, now));
                    }
                }
            }
        }
        self.generation += 1;
        self.forget_unused_action_lists(&effects.removed);
        Ok(effects)
    }
}

/// The shared copy of `actions` in `lists`, added if new.
fn intern(lists: &mut HashSet<Arc<[Action]>>, actions: &[Action]) -> Arc<[Action]> {
    if let Some(a) = lists.get(actions) {
        return Arc::clone(a);
    }
    let a: Arc<[Action]> = Arc::from(actions);
    lists.insert(Arc::clone(&a));
    a
}
