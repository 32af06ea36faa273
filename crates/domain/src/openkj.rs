//! The vocabulary of the OpenKJ compatibility endpoint: which commands exist, which scope
//! each needs, and which count against the song-upload budget instead of the normal one.
//!
//! Command names are part of the protocol the real OpenKJ client speaks (see
//! `docs/OPENKJ_INTEGRATION.md`), so they live here next to the rules, like scope names.

use std::fmt;
use std::str::FromStr;

use crate::scope::Scope;

/// Scopes a key needs to use the endpoint at all (SPEC §9), whatever the command.
pub const ENDPOINT_SCOPES: [Scope; 2] = [Scope::RequestsWrite, Scope::SongdbRead];

/// Scopes a key needs for everything the real OpenKJ client does (poll, open and close
/// venues, upload the song book). `getAlert` warns about any that are missing.
pub const CLIENT_SCOPES: [Scope; 3] =
    [Scope::RequestsWrite, Scope::VenuesWrite, Scope::SongdbWrite];

/// A command of the endpoint, named as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    // Sent by the real OpenKJ client.
    GetSerial,
    GetRequests,
    GetVenues,
    SetAccepting,
    DeleteRequest,
    ClearRequests,
    ClearDatabase,
    AddSongs,
    GetAlert,
    GetEntitledSystemCount,
    TestingAddRandomRequest,
    // Implemented by community servers for singer-side tools.
    ConnectionTest,
    Search,
    SubmitRequest,
    VenueAccepting,
    GetAccepting,
    // The seed design's commands.
    GetSongs,
    AddRequest,
}

impl Command {
    pub const ALL: [Command; 18] = [
        Command::GetSerial,
        Command::GetRequests,
        Command::GetVenues,
        Command::SetAccepting,
        Command::DeleteRequest,
        Command::ClearRequests,
        Command::ClearDatabase,
        Command::AddSongs,
        Command::GetAlert,
        Command::GetEntitledSystemCount,
        Command::TestingAddRandomRequest,
        Command::ConnectionTest,
        Command::Search,
        Command::SubmitRequest,
        Command::VenueAccepting,
        Command::GetAccepting,
        Command::GetSongs,
        Command::AddRequest,
    ];

    /// The wire name (case-sensitive, as OpenKJ sends it).
    pub const fn as_str(self) -> &'static str {
        match self {
            Command::GetSerial => "getSerial",
            Command::GetRequests => "getRequests",
            Command::GetVenues => "getVenues",
            Command::SetAccepting => "setAccepting",
            Command::DeleteRequest => "deleteRequest",
            Command::ClearRequests => "clearRequests",
            Command::ClearDatabase => "clearDatabase",
            Command::AddSongs => "addSongs",
            Command::GetAlert => "getAlert",
            Command::GetEntitledSystemCount => "getEntitledSystemCount",
            Command::TestingAddRandomRequest => "testingAddRandomRequest",
            Command::ConnectionTest => "connectionTest",
            Command::Search => "search",
            Command::SubmitRequest => "submitRequest",
            Command::VenueAccepting => "venueAccepting",
            Command::GetAccepting => "getAccepting",
            Command::GetSongs => "getSongs",
            Command::AddRequest => "addRequest",
        }
    }

    /// The scope this command needs on top of [`ENDPOINT_SCOPES`]: reads need the
    /// matching `:read` scope, request changes `requests:write`, `setAccepting`
    /// `venues:write`, song uploads `songdb:write`. `None` for commands that only report
    /// on the key or the server.
    pub const fn required_scope(self) -> Option<Scope> {
        match self {
            Command::GetSerial | Command::GetRequests => Some(Scope::RequestsRead),
            Command::GetVenues | Command::VenueAccepting | Command::GetAccepting => {
                Some(Scope::VenuesRead)
            }
            Command::SetAccepting => Some(Scope::VenuesWrite),
            Command::DeleteRequest
            | Command::ClearRequests
            | Command::SubmitRequest
            | Command::AddRequest => Some(Scope::RequestsWrite),
            Command::ClearDatabase | Command::AddSongs => Some(Scope::SongdbWrite),
            Command::Search | Command::GetSongs => Some(Scope::SongdbRead),
            Command::GetAlert
            | Command::GetEntitledSystemCount
            | Command::ConnectionTest
            | Command::TestingAddRandomRequest => None,
        }
    }

    /// Whether the command draws on the song-upload budget: OpenKJ uploads a library as
    /// `clearDatabase` plus one `addSongs` per 1000 songs, back to back, and that burst
    /// must never be cut short by the limit meant for polling.
    pub const fn is_song_upload(self) -> bool {
        matches!(self, Command::ClearDatabase | Command::AddSongs)
    }

    /// Whether the command carries an API key. Only OpenKJ's hidden torture-test hook
    /// does not, and keyward does not support it.
    pub const fn is_authenticated(self) -> bool {
        !matches!(self, Command::TestingAddRandomRequest)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A command name keyward does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unrecognized command")]
pub struct UnknownCommand;

impl FromStr for Command {
    type Err = UnknownCommand;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Command::ALL
            .into_iter()
            .find(|command| command.as_str() == s)
            .ok_or(UnknownCommand)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::ScopeSet;

    #[test]
    fn every_command_round_trips_through_its_wire_name() {
        for command in Command::ALL {
            assert_eq!(command.as_str().parse::<Command>(), Ok(command));
        }
    }

    #[test]
    fn command_names_are_case_sensitive() {
        assert_eq!("getserial".parse::<Command>(), Err(UnknownCommand));
        assert_eq!("GetSerial".parse::<Command>(), Err(UnknownCommand));
    }

    #[test]
    fn only_clear_database_and_add_songs_use_the_upload_budget() {
        let uploads: Vec<_> = Command::ALL
            .into_iter()
            .filter(|c| c.is_song_upload())
            .collect();
        assert_eq!(uploads, [Command::ClearDatabase, Command::AddSongs]);
    }

    #[test]
    fn a_key_with_the_client_scopes_may_run_every_supported_command() {
        let key = ScopeSet::of(&CLIENT_SCOPES).unwrap();
        assert!(key.allows_all(&ENDPOINT_SCOPES));
        for command in Command::ALL {
            if let Some(scope) = command.required_scope() {
                assert!(key.allows(scope), "{command} needs {scope}");
            }
        }
    }

    #[test]
    fn polling_commands_need_only_read_scopes() {
        assert_eq!(
            Command::GetSerial.required_scope(),
            Some(Scope::RequestsRead)
        );
        assert_eq!(Command::GetVenues.required_scope(), Some(Scope::VenuesRead));
        assert_eq!(Command::GetAlert.required_scope(), None);
    }
}
