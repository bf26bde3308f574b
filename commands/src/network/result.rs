//! `network` (SPEC §6): the six relation lists of a member, each member with their status.

// The doc comments below are the documentation of the wire format: none may be missing.
#![warn(missing_docs)]

use serde::Serialize;

use crate::MemberId;
use crate::network::List;
use crate::profile::Level;
use crate::render::result::{Coded, OmittedMembers};

/// A member in a list of `network`.
#[derive(Debug, Serialize)]
pub struct Related<'a> {
    /// The member.
    pub member: &'a MemberId,
    /// Their status: `green`, `orange` or `red`.
    pub status: Coded<Level>,
}

impl<'a> From<&'a crate::network::Related> for Related<'a> {
    fn from(r: &'a crate::network::Related) -> Related<'a> {
        Related { member: &r.member, status: Coded(r.level) }
    }
}

/// `network`: the six lists of SPEC §6 for a member M, each under its list's code (`List`), each
/// sorted by user ID and limited to what the asker may see (V1); every list is there, perhaps
/// empty. The six share the message: a list may be cut, said in `more`.
#[derive(Debug, Default, Serialize)]
pub struct Network<'a> {
    /// (1) who supports M.
    pub supporters: Vec<Related<'a>>,
    /// (2) whom M supports.
    pub supported: Vec<Related<'a>>,
    /// (3) who else supports those who support M.
    pub supporters_of_supporters: Vec<Related<'a>>,
    /// (4) who else supports those M supports.
    pub co_supporters: Vec<Related<'a>>,
    /// (5) whom else M's supporters support.
    pub supported_by_supporters: Vec<Related<'a>>,
    /// (6) who is supported by those M supports.
    pub supported_by_supported: Vec<Related<'a>>,
    /// What was cut of each list; left out when nothing was.
    #[serde(skip_serializing_if = "NetworkMore::is_empty")]
    pub more: NetworkMore,
}

impl<'a> Network<'a> {
    /// The list `list` is serialised as.
    pub fn list_mut(&mut self, list: List) -> &mut Vec<Related<'a>> {
        match list {
            List::Supporters => &mut self.supporters,
            List::Supported => &mut self.supported,
            List::SupportersOfSupporters => &mut self.supporters_of_supporters,
            List::CoSupporters => &mut self.co_supporters,
            List::SupportedBySupporters => &mut self.supported_by_supporters,
            List::SupportedBySupported => &mut self.supported_by_supported,
        }
    }
}

/// `more` of [`Network`]: for each list that was cut, under its code, how many members were;
/// the lists not cut are left out.
#[derive(Debug, Default, Serialize)]
pub struct NetworkMore {
    /// What was cut of `supporters`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supporters: Option<OmittedMembers>,
    /// What was cut of `supported`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported: Option<OmittedMembers>,
    /// What was cut of `supporters_of_supporters`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supporters_of_supporters: Option<OmittedMembers>,
    /// What was cut of `co_supporters`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub co_supporters: Option<OmittedMembers>,
    /// What was cut of `supported_by_supporters`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_by_supporters: Option<OmittedMembers>,
    /// What was cut of `supported_by_supported`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_by_supported: Option<OmittedMembers>,
}

impl NetworkMore {
    /// Nothing was cut.
    pub fn is_empty(&self) -> bool {
        List::ALL.into_iter().all(|list| self.get(list).is_none())
    }

    fn get(&self, list: List) -> &Option<OmittedMembers> {
        match list {
            List::Supporters => &self.supporters,
            List::Supported => &self.supported,
            List::SupportersOfSupporters => &self.supporters_of_supporters,
            List::CoSupporters => &self.co_supporters,
            List::SupportedBySupporters => &self.supported_by_supporters,
            List::SupportedBySupported => &self.supported_by_supported,
        }
    }

    /// What was cut of `list`.
    pub fn list_mut(&mut self, list: List) -> &mut Option<OmittedMembers> {
        match list {
            List::Supporters => &mut self.supporters,
            List::Supported => &mut self.supported,
            List::SupportersOfSupporters => &mut self.supporters_of_supporters,
            List::CoSupporters => &mut self.co_supporters,
            List::SupportedBySupporters => &mut self.supported_by_supporters,
            List::SupportedBySupported => &mut self.supported_by_supported,
        }
    }
}
