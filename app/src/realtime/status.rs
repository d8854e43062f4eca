//! The state of the tab's one socket as the "Connection" badge shows it, and the rules that
//! move it: what an attempt to connect is called, what a dropped socket becomes, and what
//! the browser coming back online changes.
//!
//! The socket loop in `browser` asks these questions and sets the answers; nothing here
//! knows whether the network is really up (the browser says so) or whether a socket is open.

/// What the "Connection" status shows. Its `Debug` name, lowercased, is the badge's
/// `data-state`, which the stylesheet colours by, so renaming a variant changes the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    Connecting,
    Connected,
    Reconnecting,
    /// The browser reports no network.
    Offline,
    /// The session ended (signed out elsewhere): nothing to reconnect to.
    SignedOut,
}

impl ConnectionStatus {
    pub fn label(self) -> &'static str {
        match self {
            ConnectionStatus::Connecting => "Connecting…",
            ConnectionStatus::Connected => "Connected",
            ConnectionStatus::Reconnecting => "Reconnecting…",
            ConnectionStatus::Offline => "Offline",
            ConnectionStatus::SignedOut => "Signed out",
        }
    }

    /// While attempt number `attempt` (0 for the first of the page) opens the socket.
    pub fn opening(online: bool, attempt: u32) -> Self {
        match (online, attempt) {
            (false, _) => ConnectionStatus::Offline,
            (true, 0) => ConnectionStatus::Connecting,
            (true, _) => ConnectionStatus::Reconnecting,
        }
    }

    /// While waiting to reconnect after the socket dropped.
    pub fn waiting(online: bool) -> Self {
        if online {
            ConnectionStatus::Reconnecting
        } else {
            ConnectionStatus::Offline
        }
    }

    /// The browser reports the network back. Only "Offline" changes, to what the socket
    /// really is (going offline does not always close it); any other status already says
    /// more than the event does, so `None` leaves it.
    pub fn back_online(self, socket_open: bool) -> Option<Self> {
        (self == ConnectionStatus::Offline).then_some(if socket_open {
            ConnectionStatus::Connected
        } else {
            ConnectionStatus::Reconnecting
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_attempt_is_connecting_and_later_ones_reconnecting() {
        assert_eq!(
            ConnectionStatus::opening(true, 0),
            ConnectionStatus::Connecting
        );
        assert_eq!(
            ConnectionStatus::opening(true, 3),
            ConnectionStatus::Reconnecting
        );
    }

    #[test]
    fn without_a_network_every_attempt_and_wait_is_offline() {
        assert_eq!(
            ConnectionStatus::opening(false, 0),
            ConnectionStatus::Offline
        );
        assert_eq!(
            ConnectionStatus::opening(false, 2),
            ConnectionStatus::Offline
        );
        assert_eq!(ConnectionStatus::waiting(false), ConnectionStatus::Offline);
        assert_eq!(
            ConnectionStatus::waiting(true),
            ConnectionStatus::Reconnecting
        );
    }

    #[test]
    fn coming_back_online_shows_whether_the_socket_survived() {
        let offline = ConnectionStatus::Offline;
        assert_eq!(offline.back_online(true), Some(ConnectionStatus::Connected));
        assert_eq!(
            offline.back_online(false),
            Some(ConnectionStatus::Reconnecting)
        );
    }

    #[test]
    fn coming_back_online_leaves_any_status_but_offline_alone() {
        for status in [
            ConnectionStatus::Connecting,
            ConnectionStatus::Connected,
            ConnectionStatus::Reconnecting,
            ConnectionStatus::SignedOut,
        ] {
            assert_eq!(status.back_online(true), None, "{status:?}");
        }
    }

    #[test]
    fn the_badge_state_is_the_lowercased_variant_name() {
        // `style/main.css` selects on these (`.connection[data-state="offline"]`).
        let names: Vec<String> = [
            ConnectionStatus::Connecting,
            ConnectionStatus::Connected,
            ConnectionStatus::Reconnecting,
            ConnectionStatus::Offline,
            ConnectionStatus::SignedOut,
        ]
        .iter()
        .map(|status| format!("{status:?}").to_lowercase())
        .collect();
        assert_eq!(
            names,
            [
                "connecting",
                "connected",
                "reconnecting",
                "offline",
                "signedout"
            ]
        );
    }
}
