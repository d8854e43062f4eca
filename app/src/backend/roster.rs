//! The roster: who is present in which room through which instance, kept in PostgreSQL so
//! that every instance can list the people the others have.
//!
//! Each instance writes its own rows (`room_presence`: room, user, instance) when its
//! [`Presence`](super::presence::Presence) says someone is now here or no longer is, and
//! keeps a heartbeat row (`instance_heartbeats`) whose expiry it moves forward on every
//! beat ([`RosterTimings`]: every 3 s, by 10 s). The others read the rows of live
//! instances for the rooms they have people in, and install each read in their hub, which
//! announces what changed. An instance that
//! dies without a word (SIGKILL, a cut cable) stops beating: once its expiry passes, judged
//! on the database's clock so that no two instances' clocks have to agree, the reads leave
//! its rows out and its people leave everywhere within the expiry plus one beat.
//!
//! The rows are the state; notifications only say "presence in these rooms changed" (the
//! bus, [`super::bus`], sends and receives them, and runs the heartbeat). Nothing is lost
//! if one goes astray: every instance also reads its rooms again on each beat. When the
//! rows themselves may be gone (PostgreSQL restarted and emptied its unlogged tables, or
//! this instance lost it for a while), reads only add people until every instance has had
//! the time to write its rows again, so nobody flaps out and back in.
//!
//! What it does not do: it keeps no history (the tables are `UNLOGGED`, emptied by a crash
//! of PostgreSQL, after which each instance finds its heartbeat gone and writes its rows
//! again), and it never decides access: a socket is present only after the subscribe path
//! has checked it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::PgPool;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::hub::Hub;
use super::instance_id::InstanceId;
use super::presence::ReadTrust;
use crate::model::{RoomId, UserId};
use crate::protocol::Person;

/// How often an instance beats and reads its rooms again, and how far each beat moves its
/// expiry. The defaults judge an instance gone after three missed beats; tests shorten or
/// lengthen them (they are not flags: every instance of a deployment must agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RosterTimings {
    pub beat: Duration,
    pub expiry: Duration,
}

impl Default for RosterTimings {
    fn default() -> Self {
        Self {
            beat: Duration::from_secs(3),
            expiry: Duration::from_secs(10),
        }
    }
}

/// How long a gone instance's rows are kept before any instance deletes them. Reads ignore
/// them from its expiry on; this only keeps the table small.
const FORGOTTEN_AFTER: Duration = Duration::from_secs(60);

/// This instance's end of the roster: its id and the connections it reads and writes on.
pub struct Roster {
    /// Reads and writes (two connections: the presence sender writes on one while a
    /// subscribing socket or the re-reader reads on the other).
    pool: PgPool,
    /// The heartbeat's own connection, so no burst of reads or writes can delay a beat past
    /// the expiry and make the others judge a live instance gone.
    beat_pool: PgPool,
    instance: InstanceId,
    timings: RosterTimings,
    /// Rooms the others said changed, not yet read again: a burst of notifications about
    /// one room costs one read.
    pending_rooms: Mutex<BTreeSet<RoomId>>,
    wake: Notify,
    /// Until when reads are [`ReadTrust::AddOnly`]: the database may have lost rows their
    /// instances have not written again yet.
    unsettled_until: Mutex<Option<Instant>>,
    /// Set when this instance's own rows may be missing: the presence sender writes them
    /// whole.
    rewrite: AtomicBool,
    /// Whether a beat has succeeded: the first one makes the heartbeat row, as expected.
    has_beaten: AtomicBool,
}

impl Roster {
    pub fn new(
        pool: PgPool,
        beat_pool: PgPool,
        instance: InstanceId,
        timings: RosterTimings,
    ) -> Self {
        Self {
            pool,
            beat_pool,
            instance,
            timings,
            pending_rooms: Mutex::new(BTreeSet::new()),
            wake: Notify::new(),
            unsettled_until: Mutex::new(None),
            // At start nothing of this instance is written yet.
            rewrite: AtomicBool::new(true),
            has_beaten: AtomicBool::new(false),
        }
    }

    pub fn instance(&self) -> InstanceId {
        self.instance
    }

    pub fn timings(&self) -> RosterTimings {
        self.timings
    }

    /// Moves this instance's expiry past the database's now, and deletes the rows of
    /// instances gone long ago. When the heartbeat row had to be made anew (at start, after
    /// PostgreSQL emptied the table, or after others deleted it as gone), this instance's
    /// rows are gone too: they are marked for a rewrite, and, since every other instance's
    /// may be gone as well, reads only add people for a while.
    pub async fn heartbeat(&self) -> Result<(), sqlx::Error> {
        let beat = async {
            let made: bool = sqlx::query_scalar(
                "INSERT INTO instance_heartbeats (instance, expires_at) \
                 VALUES ($1, now() + make_interval(secs => $2)) \
                 ON CONFLICT (instance) DO UPDATE SET expires_at = EXCLUDED.expires_at \
                 RETURNING xmax = 0",
            )
            .bind(self.instance.to_string())
            .bind(self.timings.expiry.as_secs_f64())
            .fetch_one(&self.beat_pool)
            .await?;
            sqlx::query(
                "DELETE FROM instance_heartbeats \
                 WHERE expires_at < now() - make_interval(secs => $1)",
            )
            .bind(FORGOTTEN_AFTER.as_secs_f64())
            .execute(&self.beat_pool)
            .await?;
            Ok::<bool, sqlx::Error>(made)
        };
        match beat.await {
            Ok(made) => {
                let first = !self.has_beaten.swap(true, Ordering::Relaxed);
                if made && !first {
                    self.rewrite.store(true, Ordering::Relaxed);
                    self.unsettle();
                }
                Ok(())
            }
            Err(error) => {
                // Others may judge this instance gone meanwhile, and it cannot tell what
                // they lost: both sides write whole and read add-only once it is back.
                self.rewrite.store(true, Ordering::Relaxed);
                self.unsettle();
                Err(error)
            }
        }
    }

    /// Whether a rewrite of this instance's rows is due (without clearing the request).
    pub fn rewrite_due(&self) -> bool {
        self.rewrite.load(Ordering::Relaxed)
    }

    /// Whether this instance's rows must be written whole (clears the request).
    pub fn take_rewrite(&self) -> bool {
        self.rewrite.swap(false, Ordering::Relaxed)
    }

    /// Asks for a rewrite, after a write that failed.
    pub fn request_rewrite(&self) {
        self.rewrite.store(true, Ordering::Relaxed);
    }

    /// Reads only add people until every instance has had the time to beat and write its
    /// rows again.
    pub fn unsettle(&self) {
        let until = Instant::now() + self.timings.expiry + self.timings.beat;
        *lock(&self.unsettled_until) = Some(until);
    }

    fn trust(&self) -> ReadTrust {
        match *lock(&self.unsettled_until) {
            Some(until) if Instant::now() < until => ReadTrust::AddOnly,
            _ => ReadTrust::Whole,
        }
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
        .execute(&self.beat_pool)
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

    /// Replaces this instance's rows with `everyone` (room, user), and returns the rooms
    /// whose rows changed: those of `everyone` and those it no longer has anyone in.
    pub async fn write_whole(
        &self,
        everyone: &[(RoomId, UserId)],
    ) -> Result<BTreeSet<RoomId>, sqlx::Error> {
        let mut rows = Rows::default();
        for &(room, user) in everyone {
            rows.push(room, user);
        }
        let mut transaction = self.pool.begin().await?;
        let emptied: Vec<i64> =
            sqlx::query_scalar("DELETE FROM room_presence WHERE instance = $1 RETURNING room_id")
                .bind(self.instance.to_string())
                .fetch_all(&mut *transaction)
                .await?;
        self.insert(&mut transaction, &rows).await?;
        transaction.commit().await?;
        let mut rooms: BTreeSet<RoomId> = emptied.into_iter().map(RoomId).collect();
        rooms.extend(everyone.iter().map(|(room, _)| *room));
        Ok(rooms)
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

    /// Reads who the other live instances have in `rooms` and installs it in `hub`, which
    /// announces what changed. The ticket is taken once the connection is in hand, right
    /// before the query, so tickets follow the order of the database's snapshots: a
    /// slower, older read finishing later does not undo a newer one.
    pub async fn refresh(&self, hub: &Hub, rooms: &[RoomId]) -> Result<(), sqlx::Error> {
        if rooms.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = rooms.iter().map(|room| room.0).collect();
        let mut connection = self.pool.acquire().await?;
        let ticket = hub.start_presence_read();
        let rows: Result<Vec<(i64, i64, String, String)>, _> = sqlx::query_as(
            "SELECT DISTINCT presence.room_id, users.id, users.username, users.display_name \
             FROM room_presence presence \
             JOIN instance_heartbeats alive ON alive.instance = presence.instance \
             JOIN users ON users.id = presence.user_id \
             WHERE presence.room_id = ANY($1) AND presence.instance <> $2 \
               AND alive.expires_at > now()",
        )
        .bind(&ids)
        .bind(self.instance.to_string())
        .fetch_all(&mut *connection)
        .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(error) => {
                hub.presence_read_failed(ticket, rooms);
                self.unsettle();
                return Err(error);
            }
        };
        let people = rows
            .into_iter()
            .map(|(room, user, username, display_name)| {
                let person = Person {
                    id: UserId(user),
                    username,
                    display_name,
                };
                (RoomId(room), person)
            })
            .collect();
        hub.seen_elsewhere(ticket, rooms, people, self.trust());
        Ok(())
    }

    /// The others said presence in `rooms` changed: [`Roster::read_changed`] reads them
    /// again, without the caller waiting.
    pub fn changed(&self, rooms: impl IntoIterator<Item = RoomId>) {
        lock(&self.pending_rooms).extend(rooms);
        self.wake.notify_one();
    }

    /// Reads again, for as long as it runs, the rooms [`Roster::changed`] named that `hub`
    /// has people in, all of them in one query each time it wakes.
    pub async fn read_changed(&self, hub: &Hub) {
        loop {
            self.wake.notified().await;
            let changed = std::mem::take(&mut *lock(&self.pending_rooms));
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

/// A lock on state that is only replaced or taken whole, so a panic elsewhere leaves it
/// usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
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
