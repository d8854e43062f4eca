//! The roster: who is present in which room through which instance, kept in PostgreSQL so
//! that every instance can list the people the others have.
//!
//! Each instance writes its own rows (`room_presence`: room, user, instance) when its
//! [`Presence`](super::presence::Presence) says someone is now here or no longer is, and
//! keeps a heartbeat row (`instance_heartbeats`) whose expiry it moves forward every
//! [`HEARTBEAT`]. The others read the rows of live instances for the rooms they have people
//! in, and install each read in their hub, which announces what changed. An instance that
//! dies without a word (SIGKILL, a cut cable) stops beating: once its expiry passes, judged
//! on the database's clock so that no two instances' clocks have to agree, the reads leave
//! its rows out and its people leave everywhere within [`EXPIRY`] plus one read interval.
//!
//! The rows are the state; notifications only say "presence in these rooms changed" (the
//! bus, [`super::bus`], sends and receives them, and runs the heartbeat). Nothing is lost
//! if one goes astray: every instance also reads its rooms again on each heartbeat.
//!
//! What it does not do: it keeps no history (the tables are `UNLOGGED`, emptied by a crash
//! of PostgreSQL, after which each instance finds its heartbeat gone and writes its rows
//! again), and it never decides access: a socket is present only after the subscribe path
//! has checked it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use sqlx::postgres::PgPool;
use tokio::sync::Notify;

use super::hub::Hub;
use super::instance_id::InstanceId;
use crate::model::{RoomId, UserId};
use crate::protocol::Person;

/// How often an instance moves its heartbeat's expiry forward and reads its rooms again.
pub const HEARTBEAT: Duration = Duration::from_secs(3);

/// How far each heartbeat moves the expiry: after three missed beats an instance is gone.
pub const EXPIRY: Duration = Duration::from_secs(10);

/// How long a gone instance's rows are kept before any instance deletes them. Reads ignore
/// them from its expiry on; this only keeps the table small.
const FORGOTTEN_AFTER: Duration = Duration::from_secs(60);

/// This instance's end of the roster: its id and the connections it reads and writes on.
pub struct Roster {
    pool: PgPool,
    instance: InstanceId,
    /// Rooms the others said changed, not yet read again: a burst of notifications about
    /// one room costs one read.
    changed: Mutex<BTreeSet<RoomId>>,
    wake: Notify,
}

impl Roster {
    /// `pool` is the bus's own (the store's pool serves requests, and presence must not
    /// queue behind them).
    pub fn new(pool: PgPool, instance: InstanceId) -> Self {
        Self {
            pool,
            instance,
            changed: Mutex::new(BTreeSet::new()),
            wake: Notify::new(),
        }
    }

    pub fn instance(&self) -> InstanceId {
        self.instance
    }

    /// Moves this instance's expiry [`EXPIRY`] past the database's now, and deletes the rows
    /// of instances gone long ago. `true` if the heartbeat row had to be made anew (at
    /// start, after PostgreSQL emptied the table, or after others deleted it as gone): then
    /// this instance's rows are gone too and must be written whole.
    pub async fn heartbeat(&self) -> Result<bool, sqlx::Error> {
        let made: bool = sqlx::query_scalar(
            "INSERT INTO instance_heartbeats (instance, expires_at) \
             VALUES ($1, now() + make_interval(secs => $2)) \
             ON CONFLICT (instance) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             RETURNING xmax = 0",
        )
        .bind(self.instance.to_string())
        .bind(EXPIRY.as_secs_f64())
        .fetch_one(&self.pool)
        .await?;
        sqlx::query(
            "DELETE FROM instance_heartbeats WHERE expires_at < now() - make_interval(secs => $1)",
        )
        .bind(FORGOTTEN_AFTER.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(made)
    }

    /// At a clean shutdown: the others see this instance's people leave after `grace`, as
    /// they would if their sockets had closed here, unless they come back elsewhere first.
    pub async fn farewell(&self, grace: Duration) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE instance_heartbeats SET expires_at = now() + make_interval(secs => $2) \
             WHERE instance = $1",
        )
        .bind(self.instance.to_string())
        .bind(grace.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Writes who is now here (`true`) and who no longer is (`false`). Fails, and writes
    /// nothing, if the heartbeat row is missing; the caller then writes the whole presence.
    pub async fn write(
        &self,
        changes: &BTreeMap<(RoomId, UserId), bool>,
    ) -> Result<(), sqlx::Error> {
        let (mut arrived, mut departed) = (Rows::default(), Rows::default());
        for (&(room, user), &here) in changes {
            if here { &mut arrived } else { &mut departed }.push(room, user);
        }
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM room_presence WHERE instance = $3 AND (room_id, user_id) IN \
             (SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[]))",
        )
        .bind(&departed.rooms)
        .bind(&departed.users)
        .bind(self.instance.to_string())
        .execute(&mut *transaction)
        .await?;
        self.insert(&mut transaction, &arrived).await?;
        transaction.commit().await
    }

    /// Replaces this instance's rows with `everyone` (room, user).
    pub async fn write_whole(&self, everyone: &[(RoomId, UserId)]) -> Result<(), sqlx::Error> {
        let mut rows = Rows::default();
        for &(room, user) in everyone {
            rows.push(room, user);
        }
        let mut transaction = self.pool.begin().await?;
        sqlx::query("DELETE FROM room_presence WHERE instance = $1")
            .bind(self.instance.to_string())
            .execute(&mut *transaction)
            .await?;
        self.insert(&mut transaction, &rows).await?;
        transaction.commit().await
    }

    async fn insert(
        &self,
        transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        rows: &Rows,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO room_presence (room_id, user_id, instance) \
             SELECT room_id, user_id, $3 FROM unnest($1::BIGINT[], $2::BIGINT[]) \
             AS arrived (room_id, user_id) ON CONFLICT DO NOTHING",
        )
        .bind(&rows.rooms)
        .bind(&rows.users)
        .bind(self.instance.to_string())
        .execute(&mut **transaction)
        .await?;
        Ok(())
    }

    /// Who the other live instances have in `rooms`, each person once per room.
    pub async fn read(&self, rooms: &[RoomId]) -> Result<Vec<(RoomId, Person)>, sqlx::Error> {
        let ids: Vec<i64> = rooms.iter().map(|room| room.0).collect();
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT DISTINCT presence.room_id, users.id, users.display_name \
             FROM room_presence presence \
             JOIN instance_heartbeats alive ON alive.instance = presence.instance \
             JOIN users ON users.id = presence.user_id \
             WHERE presence.room_id = ANY($1) AND presence.instance <> $2 \
               AND alive.expires_at > now()",
        )
        .bind(&ids)
        .bind(self.instance.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(room, user, display_name)| {
                let person = Person {
                    id: UserId(user),
                    display_name,
                };
                (RoomId(room), person)
            })
            .collect())
    }

    /// Reads who the others have in `rooms` and installs it in `hub`, which announces what
    /// changed. The ticket is taken before the read, so a slower, older read finishing
    /// later does not undo a newer one.
    pub async fn refresh(&self, hub: &Hub, rooms: &[RoomId]) -> Result<(), sqlx::Error> {
        if rooms.is_empty() {
            return Ok(());
        }
        let ticket = hub.start_presence_read();
        let people = self.read(rooms).await?;
        hub.seen_elsewhere(ticket, rooms, people);
        Ok(())
    }
}

impl Roster {
    /// The others said presence in `rooms` changed: [`Roster::read_changed`] reads them
    /// again, without the caller waiting.
    pub fn changed(&self, rooms: impl IntoIterator<Item = RoomId>) {
        self.pending().extend(rooms);
        self.wake.notify_one();
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeSet<RoomId>> {
        // The set is only extended and taken whole, so a panic elsewhere leaves it usable.
        self.changed
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Reads again, for as long as it runs, the rooms [`Roster::changed`] named that `hub`
    /// has people in, all of them in one query each time it wakes.
    pub async fn read_changed(&self, hub: &Hub) {
        loop {
            self.wake.notified().await;
            let changed = std::mem::take(&mut *self.pending());
            let rooms: Vec<RoomId> = hub
                .rooms_present_here()
                .into_iter()
                .filter(|room| changed.contains(room))
                .collect();
            if let Err(error) = self.refresh(hub, &rooms).await {
                // The next heartbeat reads every room again.
                tracing::debug!(%error, "roster: cannot read the others' presence yet");
            }
        }
    }
}

/// Rows as the two arrays `unnest` reads.
#[derive(Default)]
struct Rows {
    rooms: Vec<i64>,
    users: Vec<i64>,
}

impl Rows {
    fn push(&mut self, room: RoomId, user: UserId) {
        self.rooms.push(room.0);
        self.users.push(user.0);
    }
}
