//! Positions in a pool database's change feed as xapi's event tokens, and the legacy
//! per-session event queues (`event.register`) the world keeps beside the databases.

use super::Db;

/// A position in the event stream: database and message generations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Token {
    /// The database generation read up to.
    pub db: u64,
    /// The message generation read up to (xapi keeps messages outside its database).
    pub messages: u64,
}

impl Token {
    /// Reads `<generation>,<message generation>`; the empty token is the start.
    pub fn parse(t: &str) -> Option<Token> {
        if t.is_empty() {
            return Some(Token::default());
        }
        let (db, messages) = t.split_once(',')?;
        Some(Token {
            db: db.trim().parse().ok()?,
            messages: messages.trim().parse().ok()?,
        })
    }

    /// The database's current position.
    pub fn now(db: &Db) -> Token {
        Token {
            db: db.generation(),
            messages: db.message_generation(),
        }
    }

    /// The token as xapi writes it: two 20-digit numbers.
    pub fn wire(self) -> String {
        format!("{:020},{:020}", self.db, self.messages)
    }
}

/// A subscription entry: a class (lower-case) and maybe one object.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Lower-case class name, or `*`.
    pub class: String,
    /// One object of the class, or all of them.
    pub object: Option<String>,
}

/// A session's legacy event queue: what it subscribed to and how far it has read.
#[derive(Debug, Clone)]
pub struct Registration {
    /// What the session registered for.
    pub subs: Vec<Subscription>,
    /// How far `event.next` has delivered.
    pub seen: Token,
}
