//! The "Mention suggestions" list of the composer: typing `@` opens a listbox of the room's
//! members, filtered as one types, and picking one puts `@username` (unique, which the server
//! resolves to the person) into the message.
//!
//! The message box keeps its textbox role (a multi-line box is not a combobox, and the page's
//! other parts find it as "Message"); it carries the combobox pattern's state instead:
//! `aria-controls` names the list, `aria-expanded` says whether it is open and
//! `aria-activedescendant` the active option, so a screen reader follows the arrows while the
//! focus stays in the text. The decisions (which `@word` is being typed, who matches, what
//! the text becomes) are plain functions, tested here; [`MentionPicker`] holds the state and
//! [`SuggestionList`] draws it.
//!
//! It does not decide who can be mentioned: the list shows the members the server lists,
//! and the server resolves names again when the message is posted.

use leptos::prelude::*;

use crate::model::{MemberView, RoomId, UserId};

/// The most suggestions shown at once.
const SHOWN: usize = 8;

/// The id of the list, which the message box's `aria-controls` names.
pub(super) const LIST_ID: &str = "mention-suggestions";

/// The `@word` being typed just before `caret` (a byte index into `text`): the byte index of
/// its `@`, and what follows it. `None` when the caret is not in one, or the `@` is inside a
/// word (an e-mail address).
pub(super) fn typed_mention(text: &str, caret: usize) -> Option<(usize, &str)> {
    let before = text.get(..caret)?;
    let at = before.rfind('@')?;
    let query = &before[at + 1..];
    if query.chars().any(char::is_whitespace) || query.chars().count() > 32 {
        return None;
    }
    let inside_word = before[..at]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    (!inside_word).then_some((at, query))
}

/// The members `query` matches, best first: usernames that start with it, then display
/// names that start with it, then display names that contain it (letter case aside); never
/// `me`; at most [`SHOWN`].
pub(super) fn suggestions(
    members: &[MemberView],
    query: &str,
    me: Option<UserId>,
) -> Vec<MemberView> {
    let query = query.to_lowercase();
    let mut ranked: Vec<(u8, &MemberView)> = members
        .iter()
        .filter(|member| Some(member.id) != me)
        .filter_map(|member| {
            let name = member.display_name.to_lowercase();
            let rank = if member.username.to_lowercase().starts_with(&query) {
                0
            } else if name.starts_with(&query) {
                1
            } else if name.contains(&query) {
                2
            } else {
                return None;
            };
            Some((rank, member))
        })
        .collect();
    ranked.sort_by(|(a_rank, a), (b_rank, b)| {
        a_rank
            .cmp(b_rank)
            .then_with(|| a.display_name.cmp(&b.display_name))
    });
    ranked
        .into_iter()
        .take(SHOWN)
        .map(|(_, member)| member.clone())
        .collect()
}

/// `text` with the `@word` from byte `at` to `caret` replaced by `@username ` , and the byte
/// index just after it (where the caret goes).
pub(super) fn insert_mention(
    text: &str,
    at: usize,
    caret: usize,
    username: &str,
) -> (String, usize) {
    let (before, after) = (&text[..at], &text[caret..]);
    let mention = format!("@{username} ");
    // One space between the name and what follows, not two.
    let after = after.strip_prefix(' ').unwrap_or(after);
    (format!("{before}{mention}{after}"), at + mention.len())
}

/// A caret position as the browser counts it (UTF-16 code units) as a byte index into `text`.
pub(super) fn byte_index(text: &str, utf16: u32) -> usize {
    let mut units = 0;
    for (index, c) in text.char_indices() {
        if units >= utf16 as usize {
            return index;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// A byte index into `text` as the browser counts carets (UTF-16 code units).
pub(super) fn utf16_index(text: &str, byte: usize) -> u32 {
    let units: usize = text
        .get(..byte)
        .unwrap_or(text)
        .chars()
        .map(char::len_utf16)
        .sum();
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// The state of one composer's suggestions.
#[derive(Clone, Copy)]
pub(super) struct MentionPicker {
    room: RoomId,
    /// The room's members, loaded the first time an `@` is typed (most messages have none).
    members: RwSignal<Option<Vec<MemberView>>>,
    loading: StoredValue<bool>,
    /// The `@word` at the caret: its `@`'s byte index and the query.
    typed: RwSignal<Option<(usize, String)>>,
    /// Where the caret is (a byte index): what a pick replaces up to.
    caret: StoredValue<usize>,
    /// The `@` whose list Escape closed: it stays closed until another `@` is typed.
    dismissed: RwSignal<Option<usize>>,
    active: RwSignal<usize>,
    me: Signal<Option<UserId>>,
}

impl MentionPicker {
    pub(super) fn new(room: RoomId, me: Signal<Option<UserId>>) -> Self {
        Self {
            room,
            members: RwSignal::new(None),
            loading: StoredValue::new(false),
            typed: RwSignal::new(None),
            caret: StoredValue::new(0),
            dismissed: RwSignal::new(None),
            active: RwSignal::new(0),
            me,
        }
    }

    /// The text or the caret moved: find the `@word` at the caret (and load the members the
    /// first time there is one).
    pub(super) fn follow(&self, text: &str, caret: usize) {
        self.caret.set_value(caret);
        let typed = typed_mention(text, caret).map(|(at, query)| (at, query.to_owned()));
        let unloaded = self.members.with_untracked(Option::is_none) && !self.loading.get_value();
        if typed.is_some() && unloaded {
            self.load();
        }
        if typed.is_none() {
            self.dismissed.set(None);
        }
        if self.typed.with_untracked(|current| *current != typed) {
            // The first option is active whenever the list opens or its filter changes.
            self.active.set(0);
            self.typed.set(typed);
        }
    }

    fn load(&self) {
        self.loading.set_value(true);
        let (room, members, loading) = (self.room, self.members, self.loading);
        leptos::task::spawn_local(async move {
            let listed = crate::api::rooms::room_members(room).await;
            loading.set_value(false);
            // Without the list there is nothing to suggest; typing goes on as text.
            members.set(Some(listed.unwrap_or_default()));
        });
    }

    /// The suggestions on show: empty while closed.
    pub(super) fn shown(&self) -> Vec<MemberView> {
        let Some((at, query)) = self.typed.get() else {
            return Vec::new();
        };
        if self.dismissed.get() == Some(at) {
            return Vec::new();
        }
        self.members.with(|members| {
            members
                .as_deref()
                .map(|members| suggestions(members, &query, self.me.get()))
                .unwrap_or_default()
        })
    }

    pub(super) fn is_open(&self) -> bool {
        !self.shown().is_empty()
    }

    pub(super) fn active(&self) -> usize {
        self.active.get()
    }

    /// Moves the active option by `step`, wrapping around.
    pub(super) fn step(&self, step: isize) {
        let count = self.shown().len();
        if count == 0 {
            return;
        }
        let count = count as isize;
        self.active
            .update(|active| *active = ((*active as isize + step).rem_euclid(count)) as usize);
    }

    /// Escape: closes the list for this `@word`.
    pub(super) fn dismiss(&self) {
        if let Some((at, _)) = self.typed.get_untracked() {
            self.dismissed.set(Some(at));
        }
    }

    /// `text` with the chosen member (`index` of the shown, or the active one) put in place of
    /// the `@word`, and where the caret goes; `None` when the list is closed.
    pub(super) fn pick(&self, text: &str, index: Option<usize>) -> Option<(String, usize)> {
        let shown = self.shown();
        let member = shown.get(index.unwrap_or_else(|| self.active.get_untracked()))?;
        let (at, _) = self.typed.get_untracked()?;
        let caret = self.caret.get_value().min(text.len());
        let picked = insert_mention(text, at, caret, &member.username);
        self.typed.set(None);
        Some(picked)
    }
}

/// The id of option `index`, which `aria-activedescendant` names.
pub(super) fn option_id(index: usize) -> String {
    format!("mention-option-{index}")
}

/// The listbox itself, under the message box while open. A click picks too (on mouse down,
/// so the message box keeps the focus).
#[component]
pub(super) fn SuggestionList(
    picker: MentionPicker,
    on_pick: impl Fn(usize) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <ul
            id=LIST_ID
            class="mention-suggestions"
            role="listbox"
            aria-label="Mention suggestions"
            hidden=move || !picker.is_open()
        >
            {move || {
                let active = picker.active();
                picker
                    .shown()
                    .into_iter()
                    .enumerate()
                    .map(|(index, member)| {
                        let on_pick = on_pick.clone();
                        view! {
                            <li
                                id=option_id(index)
                                role="option"
                                aria-selected=if index == active { "true" } else { "false" }
                                class:active=index == active
                                on:mousedown=move |event| {
                                    event.prevent_default();
                                    on_pick(index);
                                }
                            >
                                {member.display_name}
                                " "
                                <span class="username">{format!("@{}", member.username)}</span>
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: i64, username: &str, display_name: &str) -> MemberView {
        MemberView {
            id: UserId(id),
            username: username.into(),
            display_name: display_name.into(),
            is_owner: false,
        }
    }

    #[test]
    fn the_word_being_typed_after_an_at_is_the_query() {
        assert_eq!(typed_mention("hi @an", 6), Some((3, "an")));
        assert_eq!(typed_mention("@", 1), Some((0, "")));
        assert_eq!(typed_mention("hi @민", "hi @민".len()), Some((3, "민")));
        assert_eq!(typed_mention("hi @ana there", 13), None, "a space ended it");
        assert_eq!(typed_mention("mail ana@example", 16), None, "inside a word");
        assert_eq!(typed_mention("hi @an", 2), None, "the caret is before it");
        assert_eq!(typed_mention("hi", 99), None);
    }

    #[test]
    fn suggestions_rank_usernames_then_names_and_leave_me_out() {
        let members = [
            member(1, "me", "Me"),
            member(2, "bora", "Ana Bora"),
            member(3, "ana", "Kim"),
            member(4, "minji", "김민지"),
        ];
        let names = |query: &str| -> Vec<String> {
            suggestions(&members, query, Some(UserId(1)))
                .into_iter()
                .map(|member| member.username)
                .collect()
        };
        assert_eq!(names("an"), ["ana", "bora"]);
        assert_eq!(names("AN"), ["ana", "bora"], "letter case aside");
        assert_eq!(names("민"), ["minji"]);
        assert_eq!(names("").len(), 3, "all but me");
        assert!(names("zzz").is_empty());
    }

    #[test]
    fn picking_puts_the_username_in_place_of_the_typed_word() {
        assert_eq!(
            insert_mention("hi @an", 3, 6, "ana"),
            ("hi @ana ".to_owned(), 8)
        );
        assert_eq!(
            insert_mention("hi @an there", 3, 6, "ana"),
            ("hi @ana there".to_owned(), 8)
        );
        assert_eq!(
            insert_mention("안녕 @민", "안녕 ".len(), "안녕 @민".len(), "minji"),
            ("안녕 @minji ".to_owned(), "안녕 @minji ".len())
        );
    }

    #[test]
    fn carets_convert_between_the_browsers_units_and_bytes() {
        let text = "한😀a";
        assert_eq!(byte_index(text, 0), 0);
        assert_eq!(byte_index(text, 1), 3);
        assert_eq!(byte_index(text, 3), 7, "the emoji is two units");
        assert_eq!(byte_index(text, 4), 8);
        assert_eq!(byte_index(text, 99), 8);
        for byte in [0, 3, 7, 8] {
            assert_eq!(byte_index(text, utf16_index(text, byte)), byte);
        }
    }
}
