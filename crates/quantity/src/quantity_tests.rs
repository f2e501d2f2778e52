use super::*;

fn q(s: &str) -> Quantity {
    s.parse().unwrap()
}

#[test]
fn canonical_form_matches_upstream() {
    let cases = [
        ("0", "0"),
        ("0Mi", "0"),
        ("1", "1"),
        ("1000", "1k"),
        ("0.5", "500m"),
        ("1.5", "1500m"),
        ("500m", "500m"),
        ("1000m", "1"),
        ("100Mi", "100Mi"),
        ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"),
        ("512", "512"),
        ("1536", "1536"),
        ("1Ki", "1Ki"),
        ("0.5Ki", "512"),
        ("1e3", "1e3"),
        ("1E6", "1e6"),
        ("12e2", "1200"),
        ("1M", "1M"),
        ("1.5G", "1500M"),
        ("-2k", "-2k"),
        ("+3", "3"),
        ("1n", "1n"),
        ("0.1n", "1n"),
        ("10u", "10u"),
        (".5", "500m"),
    ];
    for (input, want) in cases {
        assert_eq!(q(input).to_string(), want, "{input}");
    }
}

#[test]
fn malformed_quantities_are_rejected() {
    for bad in ["", "abc", "1x", "1.2.3", "Mi", "1e", "1ee3", "--1"] {
        assert!(bad.parse::<Quantity>().is_err(), "{bad}");
    }
}

#[test]
fn sums_keep_the_first_operands_notation() {
    let mut sum = q("100Mi");
    sum += &q("100M");
    assert_eq!(sum.format(), Format::BinarySi);
    assert_eq!(sum.value(), 100 * 1024 * 1024 + 100_000_000);

    let mut from_zero = Quantity::default();
    from_zero += &q("1Gi");
    assert_eq!(from_zero.to_string(), "1Gi");

    let mut cpu = q("250m");
    cpu += &q("750m");
    assert_eq!(cpu.to_string(), "1");
    cpu -= &q("1500m");
    assert_eq!(cpu.to_string(), "-500m");
}

#[test]
fn values_round_up_to_the_unit_asked_for() {
    assert_eq!(q("1500m").value(), 2);
    assert_eq!(q("1.5").milli_value(), 1500);
    assert_eq!(q("1n").milli_value(), 1);
    assert_eq!(q("2Ki").value(), 2048);
    assert_eq!(
        Quantity::from_milli(250, Format::DecimalSi).to_string(),
        "250m"
    );
    assert_eq!(Quantity::new(3, Format::DecimalSi).to_string(), "3");
}

#[test]
fn comparison_ignores_notation() {
    assert_eq!(q("1Ki"), q("1024"));
    assert_eq!(q("1"), q("1000m"));
    assert!(q("1Gi") > q("1G"));
    assert!(q("999m") < q("1"));
}

#[test]
fn wire_quantities_round_trip_in_canonical_form() {
    let wire = WireQuantity("2048Mi".to_owned());
    let parsed = Quantity::from_wire(&wire).unwrap();
    assert_eq!(parsed.to_wire(), WireQuantity("2Gi".to_owned()));
}
