//! Topic names, topic filters and matching: the examples of section 4.7 of the spec.

use mqtt_proto::{DecodeError, TopicFilter, TopicName};

fn matches(filter: &str, topic: &str) -> bool {
    let f = TopicFilter::new(filter).unwrap_or_else(|e| panic!("filter {filter:?}: {e:?}"));
    let t = TopicName::new(topic).unwrap_or_else(|e| panic!("topic {topic:?}: {e:?}"));
    f.matches(t)
}

fn assert_matches(filter: &str, topics: &[&str]) {
    for topic in topics {
        assert!(matches(filter, topic), "{filter:?} must match {topic:?}");
    }
}

fn assert_no_match(filter: &str, topics: &[&str]) {
    for topic in topics {
        assert!(
            !matches(filter, topic),
            "{filter:?} must not match {topic:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 4.7.1.2 Multi-level wildcard
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_4_7_1_2_multi_level_wildcard_matches_parent_and_any_children() {
    assert_matches(
        "sport/tennis/player1/#",
        &[
            "sport/tennis/player1",
            "sport/tennis/player1/ranking",
            "sport/tennis/player1/score/wimbledon",
        ],
    );
    assert_no_match(
        "sport/tennis/player1/#",
        &[
            "sport/tennis/player2",
            "sport/tennis",
            "sport/tennis/player12",
        ],
    );
}

#[test]
fn mqtt_4_7_1_2_sport_hash_matches_sport() {
    assert_matches(
        "sport/#",
        &["sport", "sport/", "sport/tennis", "sport/tennis/player1"],
    );
    assert_no_match("sport/#", &["sports", "Sport", "/sport"]);
}

#[test]
fn mqtt_4_7_1_2_hash_alone_matches_every_topic_not_starting_with_dollar() {
    assert_matches(
        "#",
        &[
            "sport",
            "sport/tennis",
            "/",
            "/finance",
            "a/b/c/d",
            "x$",
            "€",
        ],
    );
    assert_no_match("#", &["$SYS", "$SYS/monitor/Clients", "$", "$x/y"]);
}

#[test]
fn mqtt_4_7_1_2_multi_level_wildcard_filter_validity() {
    for valid in ["#", "sport/tennis/#", "/#", "+/#", "sport/#"] {
        assert!(TopicFilter::new(valid).is_ok(), "{valid:?} is valid");
    }
    for invalid in [
        "sport/tennis#",
        "sport/tennis/#/ranking",
        "#/",
        "a/#/b",
        "a#",
        "##",
    ] {
        assert_eq!(
            TopicFilter::new(invalid),
            Err(DecodeError::InvalidTopicFilter),
            "{invalid:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 4.7.1.3 Single-level wildcard
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_4_7_1_3_single_level_wildcard_matches_exactly_one_level() {
    assert_matches(
        "sport/tennis/+",
        &["sport/tennis/player1", "sport/tennis/player2"],
    );
    assert_no_match(
        "sport/tennis/+",
        &["sport/tennis/player1/ranking", "sport/tennis"],
    );
}

#[test]
fn mqtt_4_7_1_3_sport_plus_does_not_match_sport_but_matches_sport_slash() {
    assert_no_match("sport/+", &["sport"]);
    assert_matches("sport/+", &["sport/"]);
}

#[test]
fn mqtt_4_7_1_3_plus_plus_and_slash_plus_match_slash_finance() {
    assert_matches("+/+", &["/finance"]);
    assert_matches("/+", &["/finance"]);
    assert_no_match("+", &["/finance"]);
    assert_matches("+", &["finance"]);
}

#[test]
fn mqtt_4_7_1_3_single_level_wildcard_filter_validity() {
    for valid in ["+", "+/tennis/#", "sport/+/player1", "+/+", "/+", "+/"] {
        assert!(TopicFilter::new(valid).is_ok(), "{valid:?} is valid");
    }
    for invalid in ["sport+", "a+", "+a", "a/++", "a/b+/c"] {
        assert_eq!(
            TopicFilter::new(invalid),
            Err(DecodeError::InvalidTopicFilter),
            "{invalid:?}"
        );
    }
    assert_matches(
        "sport/+/player1",
        &["sport/tennis/player1", "sport//player1"],
    );
    assert_matches(
        "+/tennis/#",
        &["sport/tennis", "sport/tennis/player1/ranking"],
    );
    assert_no_match("+/tennis/#", &["tennis", "sport/golf"]);
}

// ---------------------------------------------------------------------------------------------
// 4.7.2 Topics beginning with $
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_4_7_2_1_leading_wildcards_do_not_match_dollar_topics() {
    assert_no_match("#", &["$SYS/monitor/Clients"]);
    assert_no_match("+/monitor/Clients", &["$SYS/monitor/Clients"]);
    assert_no_match("+", &["$SYS"]);
    assert_no_match("+/#", &["$SYS/x"]);
}

#[test]
fn mqtt_4_7_2_1_dollar_filters_match_dollar_topics() {
    assert_matches(
        "$SYS/#",
        &["$SYS/monitor/Clients", "$SYS", "$SYS/broker/load/bytes"],
    );
    assert_matches("$SYS/monitor/+", &["$SYS/monitor/Clients"]);
    assert_matches("$SYS/monitor/Clients", &["$SYS/monitor/Clients"]);
    assert_no_match("$SYS/#", &["SYS/monitor", "$SYSTEM/x"]);
    // A `$` that is not the first character is an ordinary character.
    assert_matches("+/$x", &["a/$x"]);
    assert_matches("#", &["a/$SYS"]);
}

// ---------------------------------------------------------------------------------------------
// 4.7.3 Topic semantic and usage
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_4_7_3_matching_is_case_sensitive_and_exact() {
    assert_no_match("ACCOUNTS", &["Accounts", "accounts"]);
    assert_matches("Accounts", &["Accounts"]);
    assert_matches("Accounts payable", &["Accounts payable"]);
    assert_no_match("/finance", &["finance"]);
    assert_no_match("finance", &["/finance", "finance/"]);
    assert_matches("/", &["/"]);
    assert_matches("+/+", &["/"]);
    // No normalisation [MQTT-4.7.3-4]: U+00E9 is not "e" + U+0301.
    assert_no_match("caf\u{E9}", &["cafe\u{301}"]);
    assert_matches("\u{FEFF}a", &["\u{FEFF}a"]);
    assert_no_match("a", &["\u{FEFF}a"]);
}

#[test]
fn mqtt_4_7_3_1_topic_names_and_filters_are_at_least_one_character() {
    assert_eq!(TopicName::new(""), Err(DecodeError::InvalidTopicName));
    assert_eq!(TopicFilter::new(""), Err(DecodeError::InvalidTopicFilter));
    assert!(TopicName::new("/").is_ok());
    assert!(TopicName::new(" ").is_ok());
}

#[test]
fn mqtt_4_7_1_1_wildcards_are_not_allowed_in_topic_names() {
    for name in ["+", "#", "a/+", "a/#", "sport/tennis#", "a+b"] {
        assert_eq!(
            TopicName::new(name),
            Err(DecodeError::InvalidTopicName),
            "{name:?}"
        );
    }
}

#[test]
fn mqtt_4_7_3_2_null_character_is_not_allowed() {
    assert_eq!(TopicName::new("a\0b"), Err(DecodeError::NullCharacter));
    assert_eq!(TopicFilter::new("a/\0"), Err(DecodeError::NullCharacter));
}

#[test]
fn mqtt_4_7_3_3_at_most_65535_bytes() {
    let max = "a".repeat(65_535);
    let over = "a".repeat(65_536);
    assert_eq!(TopicName::new(&max).map(|t| t.as_str().len()), Ok(65_535));
    assert_eq!(TopicFilter::new(&max).map(|t| t.as_str().len()), Ok(65_535));
    assert_eq!(TopicName::new(&over), Err(DecodeError::StringTooLong));
    assert_eq!(TopicFilter::new(&over), Err(DecodeError::StringTooLong));
}

#[test]
fn a_filter_without_wildcards_matches_only_the_identical_name() {
    for name in ["a", "a/b", "/a/", "$SYS/x", "sport/tennis/player1"] {
        assert_matches(name, &[name]);
    }
    assert_no_match("a/b", &["a/b/", "a", "a/bc", "/a/b"]);
}
