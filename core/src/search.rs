//! Searching past requests by what they were for: the words of a query, as the broker
//! matches them (each word, in any case, somewhere in the task or the ticket).

use crate::rules::RuleError;

/// At most this many words in one query.
pub const MAX_WORDS: usize = 8;
/// At most this many characters in one word.
pub const MAX_WORD_CHARS: usize = 100;

/// The words of `q`, split on whitespace; every one must match.
pub fn words(q: &str) -> Result<Vec<String>, RuleError> {
    let words: Vec<String> = q.split_whitespace().map(str::to_string).collect();
    if words.len() > MAX_WORDS {
        return Err(RuleError::invalid(
            "q",
            format!("at most {MAX_WORDS} words: narrow the search with the other filters"),
        ));
    }
    if words.iter().any(|w| w.chars().count() > MAX_WORD_CHARS) {
        return Err(RuleError::invalid(
            "q",
            format!("a word of at most {MAX_WORD_CHARS} characters"),
        ));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_its_words_and_a_long_one_is_refused_by_name() {
        assert_eq!(words("  ledger   keys ").unwrap(), ["ledger", "keys"]);
        assert!(words("").unwrap().is_empty());
        let many = "a ".repeat(MAX_WORDS + 1);
        assert!(matches!(
            words(&many),
            Err(RuleError::Invalid { field: "q", .. })
        ));
        let long = "x".repeat(MAX_WORD_CHARS + 1);
        assert!(matches!(
            words(&long),
            Err(RuleError::Invalid { field: "q", .. })
        ));
    }
}
