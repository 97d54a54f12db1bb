//! Title search: a trigram index over case-folded titles, whose posting lists are intersected
//! with galloping cursors so a selective search touches only the rows it could match.

use hashbrown::HashMap;

/// The trigrams (three consecutive characters, packed 21 bits each into a `u64`) of a
/// case-folded title. Characters, not bytes, so any script works.
pub(crate) fn trigram_keys(folded: &str) -> impl Iterator<Item = u64> + '_ {
    let mut window = 0u64;
    folded.chars().enumerate().filter_map(move |(i, c)| {
        window = ((window << 21) | u64::from(u32::from(c))) & ((1 << 63) - 1);
        (i >= 2).then_some(window)
    })
}

/// Trigram -> ascending rows whose folded title contains it.
#[derive(Default)]
pub(crate) struct Trigrams(HashMap<u64, Vec<u32>>);

impl Trigrams {
    /// Adds a new row; rows arrive in ascending order, so lists stay sorted by appending.
    pub(crate) fn insert(&mut self, row: u32, folded: &str) {
        for tri in trigram_keys(folded) {
            let list = self.0.entry(tri).or_default();
            if list.last() != Some(&row) {
                list.push(row);
            }
        }
    }

    /// Adds an existing row under a new title (an edit), keeping each list ascending. Its old
    /// trigrams stay: candidates are checked against the current title anyway.
    pub(crate) fn insert_sorted(&mut self, row: u32, folded: &str) {
        for tri in trigram_keys(folded) {
            let list = self.0.entry(tri).or_default();
            if let Err(i) = list.binary_search(&row) {
                list.insert(i, row);
            }
        }
    }

    /// Rows that contain every trigram of `needle` among the three rarest, ascending: a
    /// superset of the matches, for the caller to check. `None` when walking the index is not
    /// cheaper than scanning `scan_len` rows (or the needle is shorter than a trigram).
    pub(crate) fn candidates<'a>(
        &'a self,
        needle: &str,
        scan_len: usize,
    ) -> Option<impl Iterator<Item = u32> + 'a> {
        let mut lists: Vec<&[u32]> = trigram_keys(needle)
            .map(|t| self.0.get(&t).map_or(&[][..], Vec::as_slice))
            .collect();
        lists.sort_unstable_by_key(|l| l.len());
        lists.dedup();
        let (driver, rest) = lists.split_first()?;
        if driver.len() > scan_len {
            return None;
        }
        let mut others: Vec<Cursor<'a>> = rest.iter().take(2).map(|l| Cursor::new(l)).collect();
        Some(
            driver
                .iter()
                .copied()
                .filter(move |&row| others.iter_mut().all(|c| c.seek(row))),
        )
    }
}

/// A forward-only membership test over an ascending posting list: exponential then binary
/// search from the last position, so checking n ascending rows costs O(n log(len/n)).
pub(crate) struct Cursor<'a> {
    list: &'a [u32],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(list: &'a [u32]) -> Self {
        Self { list, pos: 0 }
    }

    /// Whether `row` is in the list; `row` must not decrease between calls.
    pub(crate) fn seek(&mut self, row: u32) -> bool {
        let rest = &self.list[self.pos..];
        let mut step = 1;
        while step < rest.len() && rest[step] < row {
            step *= 2;
        }
        let window = &rest[..rest.len().min(step + 1)];
        match window.binary_search(&row) {
            Ok(i) => {
                self.pos += i;
                true
            }
            Err(i) => {
                self.pos += i;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigram_keys_are_per_character_windows() {
        assert_eq!(trigram_keys("ab").count(), 0);
        let keys: Vec<u64> = trigram_keys("abcd").collect();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0], trigram_keys("abc").next().unwrap());
        assert_eq!(keys[1], trigram_keys("bcd").next().unwrap());
        // Multi-byte characters count once each.
        assert_eq!(trigram_keys("éçà").count(), 1);
        assert_ne!(
            trigram_keys("σαβ").next(),
            trigram_keys("ςαβ").next(),
            "distinct characters, distinct keys"
        );
    }

    #[test]
    fn cursor_answers_membership_for_ascending_probes() {
        let list = [1, 3, 4, 9, 20, 21, 100];
        let mut c = Cursor::new(&list);
        let probes = [0, 1, 2, 3, 4, 5, 9, 19, 20, 21, 50, 100, 101];
        let got: Vec<u32> = probes.into_iter().filter(|&r| c.seek(r)).collect();
        assert_eq!(got, [1, 3, 4, 9, 20, 21, 100]);
        let mut empty = Cursor::new(&[]);
        assert!(!empty.seek(5));
    }

    #[test]
    fn candidates_intersect_the_rarest_lists() {
        let mut t = Trigrams::default();
        for (row, title) in ["laptop fan", "desktop fan", "laptop screen", "phone"]
            .iter()
            .enumerate()
        {
            t.insert(row as u32, title);
        }
        let rows: Vec<u32> = t.candidates("laptop", 10).unwrap().collect();
        assert_eq!(rows, [0, 2]);
        let rows: Vec<u32> = t.candidates("top fan", 10).unwrap().collect();
        assert_eq!(rows, [0, 1]);
        assert!(t.candidates("la", 10).is_none(), "shorter than a trigram");
        assert!(t.candidates("laptop", 1).is_none(), "scanning is cheaper");
        assert_eq!(t.candidates("zzz", 10).unwrap().count(), 0);
    }
}
