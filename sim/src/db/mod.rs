//! The generic object store: one table per datamodel class, rows keyed by reference,
//! every field present (filled with defaults), relation sets kept consistent, and a
//! generation counter that drives `event.from`.

pub mod coerce;
pub mod defaults;
pub mod events;
pub mod filter;
pub mod lifecycle;
pub mod relations;

use std::collections::HashMap;

use indexmap::IndexMap;
use xenpool::meta::{self, ClassMeta, Ty};
use xenpool::wire::Value;

/// A record: field wire name → value.
pub type Record = IndexMap<String, Value>;

/// The null reference.
pub const NULL_REF: &str = "OpaqueRef:NULL";

/// The class whose objects are counted by the message generation.
pub const MESSAGE: &str = "message";

/// One stored object.
#[derive(Debug, Clone)]
pub struct Row {
    /// The record, every field of the class present.
    pub record: Record,
    /// Generation at which the object was created.
    pub created: u64,
    /// Generation of the last change.
    pub modified: u64,
}

/// A deleted object, remembered for `del` events.
#[derive(Debug, Clone)]
pub struct Tombstone {
    /// Generation of the deletion.
    pub generation: u64,
    /// Generation at which the object had been created.
    pub created: u64,
    /// Wire class name.
    pub class: &'static str,
    /// The reference it had.
    pub reference: String,
}

/// A pool database.
#[derive(Debug)]
pub struct Db {
    tables: HashMap<&'static str, IndexMap<String, Row>>,
    generation: u64,
    /// Messages live outside xapi's database and have their own counter, the second
    /// component of an `event.from` token (`xapi_message.ml`, `xapi_event.ml`).
    message_generation: u64,
    tombstones: Vec<Tombstone>,
    /// Carries the generation after every change (event.from waits on it).
    pub changed: tokio::sync::watch::Sender<u64>,
}

impl Default for Db {
    fn default() -> Self {
        Self::new()
    }
}

/// A fresh `OpaqueRef:<uuid>`.
pub fn new_ref() -> String {
    format!("OpaqueRef:{}", uuid::Uuid::new_v4())
}

/// A fresh uuid string.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Db {
    /// An empty database.
    pub fn new() -> Self {
        Db {
            tables: HashMap::new(),
            generation: 1,
            message_generation: 0,
            tombstones: Vec::new(),
            changed: tokio::sync::watch::Sender::new(1),
        }
    }

    /// The current generation (bumped by every change).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The current message generation (bumped by every message created or destroyed).
    pub fn message_generation(&self) -> u64 {
        self.message_generation
    }

    fn bump(&mut self) -> u64 {
        self.generation += 1;
        self.changed.send_replace(self.generation);
        self.generation
    }

    /// Bumps the counter `class` is tracked by (messages have their own).
    fn bump_for(&mut self, class: &str) -> u64 {
        if class == MESSAGE {
            self.message_generation += 1;
            self.changed.send_replace(self.generation);
            self.message_generation
        } else {
            self.bump()
        }
    }

    fn next_for(&self, class: &str) -> u64 {
        if class == MESSAGE {
            self.message_generation + 1
        } else {
            self.generation + 1
        }
    }

    fn class(name: &str) -> &'static ClassMeta {
        meta::class(name)
            .unwrap_or_else(|| panic!("simulator bug: no class {name:?} in the datamodel"))
    }

    /// Creates an object of `class` with `fields` (the rest default; `uuid` generated when
    /// absent) and returns its new reference.
    pub fn create(&mut self, class: &str, fields: Record) -> String {
        let reference = new_ref();
        self.create_with_ref(class, &reference, fields);
        reference
    }

    /// [`Db::create`] with a chosen reference (used when merging pools).
    pub fn create_with_ref(&mut self, class: &str, reference: &str, mut fields: Record) {
        let meta = Self::class(class);
        let mut record = Record::with_capacity(meta.fields.len());
        for field in meta.fields {
            if let Some(v) = fields.swap_remove(field.name) {
                record.insert(field.name.to_string(), v);
            } else if let Some(v) = defaults::default_for(field) {
                record.insert(field.name.to_string(), v);
            }
        }
        if record
            .get("uuid")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
            && meta.field("uuid").is_some()
        {
            record.insert("uuid".into(), Value::String(new_uuid()));
        }
        refresh_derived(meta.name, &mut record);
        let generation = self.bump_for(meta.name);
        self.tables.entry(meta.name).or_default().insert(
            reference.to_string(),
            Row {
                record,
                created: generation,
                modified: generation,
            },
        );
        // Link into the sets of every object this one points at.
        for field in meta.fields {
            if let Some(target) = self
                .get_field(meta.name, reference, field.name)
                .and_then(Value::as_str)
                .map(str::to_string)
            {
                for relation in relations::pointing_from(meta.name, field.name) {
                    self.relink(relation, reference, None, Some(&target));
                }
            }
        }
    }

    /// Removes an object (unlinking it from relation sets).
    pub fn delete(&mut self, class: &str, reference: &str) -> Option<Record> {
        let meta = Self::class(class);
        let row = self.tables.get_mut(meta.name)?.shift_remove(reference)?;
        for field in meta.fields {
            if let Some(target) = row.record.get(field.name).and_then(Value::as_str) {
                for relation in relations::pointing_from(meta.name, field.name) {
                    self.relink(relation, reference, Some(target), None);
                }
            }
        }
        let generation = self.bump_for(meta.name);
        self.tombstones.push(Tombstone {
            generation,
            created: row.created,
            class: meta.name,
            reference: reference.to_string(),
        });
        Some(row.record)
    }

    /// Moves `member` from the set of `old` to the set of `new` for one relation.
    fn relink(
        &mut self,
        relation: &(&'static str, &'static str, &'static str, &'static str),
        member: &str,
        old: Option<&str>,
        new: Option<&str>,
    ) {
        let (set_class, set_field, _, _) = *relation;
        if let Some(old) = old.filter(|r| *r != NULL_REF) {
            self.update(set_class, old, |rec| {
                if let Some(Value::Array(items)) = rec.get_mut(set_field) {
                    items.retain(|v| v.as_str() != Some(member));
                }
            });
        }
        if let Some(new) = new.filter(|r| *r != NULL_REF) {
            self.update(set_class, new, |rec| {
                if let Some(Value::Array(items)) = rec.get_mut(set_field)
                    && !items.iter().any(|v| v.as_str() == Some(member))
                {
                    items.push(Value::String(member.to_string()));
                }
            });
        }
    }

    /// Applies `change` to an object's record (no relation maintenance: use
    /// [`Db::set_field`] for reference fields). Returns false if there is no such object.
    pub fn update(
        &mut self,
        class: &str,
        reference: &str,
        change: impl FnOnce(&mut Record),
    ) -> bool {
        let generation = self.next_for(class);
        let Some(row) = self
            .tables
            .get_mut(class)
            .and_then(|t| t.get_mut(reference))
        else {
            return false;
        };
        change(&mut row.record);
        refresh_derived(class, &mut row.record);
        row.modified = generation;
        self.bump_for(class);
        true
    }

    /// Sets one field, keeping relation sets consistent when it is a reference.
    pub fn set_field(&mut self, class: &str, reference: &str, field: &str, value: Value) -> bool {
        let meta = Self::class(class);
        let old = self.get_field(meta.name, reference, field).cloned();
        let new_target = value.as_str().map(str::to_string);
        if !self.update(meta.name, reference, |rec| {
            rec.insert(field.to_string(), value);
        }) {
            return false;
        }
        let old_target = old.as_ref().and_then(Value::as_str).map(str::to_string);
        if old_target != new_target {
            for relation in relations::pointing_from(meta.name, field) {
                self.relink(
                    relation,
                    reference,
                    old_target.as_deref(),
                    new_target.as_deref(),
                );
            }
        }
        true
    }

    /// An object's record.
    pub fn get(&self, class: &str, reference: &str) -> Option<&Record> {
        self.tables.get(class)?.get(reference).map(|r| &r.record)
    }

    /// One field of an object.
    pub fn get_field(&self, class: &str, reference: &str, field: &str) -> Option<&Value> {
        self.get(class, reference)?.get(field)
    }

    /// A string field (refs, enums, strings), or "" when absent.
    pub fn str_field(&self, class: &str, reference: &str, field: &str) -> String {
        self.get_field(class, reference, field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// True if the object exists.
    pub fn exists(&self, class: &str, reference: &str) -> bool {
        self.get(class, reference).is_some()
    }

    /// Every object of a class, in creation order.
    pub fn all(&self, class: &str) -> impl Iterator<Item = (&String, &Record)> {
        self.tables
            .get(class)
            .into_iter()
            .flat_map(|t| t.iter().map(|(k, row)| (k, &row.record)))
    }

    /// Every object of a class with its change generations.
    pub fn rows(&self, class: &str) -> impl Iterator<Item = (&String, &Row)> {
        self.tables.get(class).into_iter().flat_map(|t| t.iter())
    }

    /// References of the objects of `class` for which `pred` holds.
    pub fn find(&self, class: &str, pred: impl Fn(&Record) -> bool) -> Vec<String> {
        self.all(class)
            .filter(|(_, r)| pred(r))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The first object of `class` whose `field` is the string `value`.
    pub fn find_one(&self, class: &str, field: &str, value: &str) -> Option<String> {
        self.all(class)
            .find(|(_, r)| r.get(field).and_then(Value::as_str) == Some(value))
            .map(|(k, _)| k.clone())
    }

    /// The object of `class` with this uuid.
    pub fn by_uuid(&self, class: &str, uuid: &str) -> Option<String> {
        self.find_one(class, "uuid", uuid)
    }

    /// Number of objects of `class`.
    pub fn count(&self, class: &str) -> usize {
        self.tables.get(class).map_or(0, IndexMap::len)
    }

    /// Classes that have at least one object.
    pub fn classes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.tables
            .iter()
            .filter(|(_, t)| !t.is_empty())
            .map(|(k, _)| *k)
    }

    /// Deletions after `generation`.
    pub fn tombstones_since(&self, generation: u64) -> impl Iterator<Item = &Tombstone> {
        self.tombstones
            .iter()
            .filter(move |t| t.generation > generation)
    }

    /// Copies every object of `other` into this database, keeping references (used when a
    /// host joins: its objects move into the pool database).
    pub fn absorb(&mut self, class: &str, reference: &str, record: Record) {
        self.create_with_ref(class, reference, record);
    }
}

/// Fields xapi derives from others whenever an object changes: a VM's
/// `allowed_operations` follow its power state and operations (`update_allowed_operations`).
fn refresh_derived(class: &str, record: &mut Record) {
    if class == "VM" {
        let ops = lifecycle::allowed_operations(record);
        record.insert("allowed_operations".into(), ops);
    }
}

/// The type of a field, for callers that coerce values.
pub fn field_type(class: &str, field: &str) -> Option<Ty> {
    meta::class(class)?.field(field).map(|f| f.ty)
}
