//! Availability Zone names and IDs. ARC names a zone by its ID (`use1-az2`), CloudWatch's
//! load balancer metrics by its name (`us-east-1b`); which name is which ID is the account's
//! own mapping, given to the server (`SOPILOT_AZ_IDS`). A zone given to a tool may be either.

use std::collections::BTreeMap;

/// Zone name → zone ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneMap {
    ids: BTreeMap<String, String>,
}

impl ZoneMap {
    /// Parses `us-east-1a=use1-az1,us-east-1b=use1-az2` (spaces around parts ignored).
    pub fn parse(text: &str) -> Result<ZoneMap, String> {
        let mut ids = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, id) = part
                .split_once('=')
                .map(|(n, i)| (n.trim(), i.trim()))
                .filter(|(n, i)| !n.is_empty() && !i.is_empty())
                .ok_or_else(|| {
                    format!("{part:?} is not NAME=ID; write e.g. us-east-1a=use1-az1,us-east-1b=use1-az2")
                })?;
            if let Some(before) = ids.insert(name.to_owned(), id.to_owned()) {
                return Err(format!("zone {name} is given twice ({before} and {id})"));
            }
        }
        Ok(ZoneMap { ids })
    }

    /// A map from pairs (tests, the simulator's mapping).
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> ZoneMap {
        ZoneMap {
            ids: pairs.into_iter().collect(),
        }
    }

    /// The zone ID of a zone name.
    pub fn id_of(&self, name: &str) -> Option<&str> {
        self.ids.get(name).map(String::as_str)
    }

    /// The zone name of a zone ID.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.ids
            .iter()
            .find(|(_, i)| i.as_str() == id)
            .map(|(n, _)| n.as_str())
    }

    /// `zone` as one of `ids` (the resource's zone IDs): itself, or the ID its name maps to.
    pub fn resolve<'a>(&self, zone: &str, ids: &'a [String]) -> Option<&'a String> {
        let zone = zone.trim();
        ids.iter()
            .find(|id| id.as_str() == zone || self.id_of(zone) == Some(id.as_str()))
    }

    /// `use1-az2 (us-east-1b)`, or the ID alone when its name is not known.
    pub fn label(&self, id: &str) -> String {
        match self.name_of(id) {
            Some(name) => format!("{id} ({name})"),
            None => id.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_and_resolves_names_and_ids() {
        let m = ZoneMap::parse(" us-east-1a=use1-az1, us-east-1b = use1-az2 ,").unwrap();
        let ids = vec!["use1-az1".to_owned(), "use1-az2".to_owned()];
        assert_eq!(m.resolve("us-east-1b", &ids), Some(&ids[1]));
        assert_eq!(m.resolve("use1-az1", &ids), Some(&ids[0]));
        assert_eq!(m.resolve("us-east-1c", &ids), None);
        assert_eq!(m.label("use1-az2"), "use1-az2 (us-east-1b)");
        assert_eq!(m.label("use1-az4"), "use1-az4");
    }

    #[test]
    fn bad_pairs_say_how_to_write_them() {
        let e = ZoneMap::parse("us-east-1a:use1-az1").unwrap_err();
        assert!(e.contains("NAME=ID"), "{e}");
        let e = ZoneMap::parse("a=1,a=2").unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }
}
