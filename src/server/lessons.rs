//! A lesson's site list as a teacher types it, read into the allow list and Home tiles a
//! lesson carries in the rules bundle.

use std::fmt::Write;

use crate::pages::Tile;
use crate::policy::Policy;

/// A lesson's sites, one a line: `address [uses: hosts] | title | picture`. Each address
/// becomes an allow entry checked by the same parser as every list (an error names the line)
/// and, with its title and picture, a Home tile.
pub fn parse_sites(text: &str) -> Result<(String, Vec<Tile>), Vec<String>> {
    let mut list = String::from("[allow]\n");
    let mut tiles = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let mut parts = line.split('|').map(str::trim);
        let address = parts.next().unwrap_or("");
        if address.is_empty() {
            list.push('\n');
            continue;
        }
        let (address, uses) = match address.split_once(" uses:") {
            Some((address, uses)) => (address.trim(), Some(uses.trim())),
            None => (address, None),
        };
        let with_scheme = if address.contains("://") { address.to_owned() } else { format!("https://{address}") };
        let Ok(url) = url::Url::parse(&with_scheme) else {
            errors.push(format!("line {number}: `{address}` is not a web address"));
            list.push('\n');
            continue;
        };
        // A tile opens its address: only web pages, never `javascript:` or a file.
        if !matches!(url.scheme(), "http" | "https") {
            errors.push(format!("line {number}: `{address}`: a lesson's sites are http or https addresses"));
            list.push('\n');
            continue;
        }
        let host = url.host_str().unwrap_or("");
        // `*` is the whole web: an admin's choice for a profile, with its category blocks, never
        // a lesson's.
        if host.contains('*') || host.to_ascii_lowercase().contains("%2a") {
            errors.push(format!("line {number}: `{address}`: a lesson names its sites; `*` (the whole web) is only for an admin's profile"));
            list.push('\n');
            continue;
        }
        let path = url.path().trim_end_matches('/');
        let _ = writeln!(list, "{host}{path}{}", uses.map(|u| format!(" uses: {u}")).unwrap_or_default());
        let title = parts.next().filter(|t| !t.is_empty()).unwrap_or(host).to_owned();
        let icon = parts.next().filter(|t| !t.is_empty()).unwrap_or("🌐").to_owned();
        tiles.push(Tile { title, url: url.to_string(), icon, colour: None });
    }
    let mut builder = Policy::builder();
    builder.add_list("sites", &list);
    // The list's line n+1 is the sites' line n (the first line is the section header).
    errors.extend(builder.errors().iter().map(|e| format!("line {}: `{}`: {}", e.source.line - 1, e.text, e.problem)));
    if tiles.is_empty() && errors.is_empty() {
        errors.push("add at least one site".to_owned());
    }
    if errors.is_empty() {
        Ok((list, tiles))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_become_allow_entries_and_tiles_and_bad_lines_are_named() {
        let (list, tiles) = parse_sites("https://www.topmarks.co.uk/maths-games/ | Topmarks | 🔢\n\nphonicsplay.co.uk uses: cdn.phonicsplay.co.uk\n").unwrap();
        assert_eq!(list, "[allow]\nwww.topmarks.co.uk/maths-games\n\nphonicsplay.co.uk uses: cdn.phonicsplay.co.uk\n");
        assert_eq!(
            tiles[0],
            Tile {
                title: "Topmarks".into(),
                url: "https://www.topmarks.co.uk/maths-games/".into(),
                icon: "🔢".into(),
                colour: None
            }
        );
        assert_eq!(tiles[1].title, "phonicsplay.co.uk");
        let errors = parse_sites("cbeebies.com\nco.uk\nhttp://\n").unwrap_err();
        assert!(errors.iter().any(|e| e.starts_with("line 2: `co.uk`")), "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("line 3:")), "{errors:?}");
    }
}
