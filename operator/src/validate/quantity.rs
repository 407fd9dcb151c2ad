//! Kubernetes resource quantities (`10Gi`, `500m`, `1e3`), parsed far
//! enough to tell a good one from a bad one and to compare it with zero.
//!
//! The schema only says "string or integer"; the API server parses
//! quantities in pod specs, but a bad one there would surface as a
//! StatefulSet the operator cannot apply, long after `kubectl apply` of the
//! ReplicatedBroker said yes.

/// Why a quantity is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityError {
    Empty,
    BadNumber,
    BadSuffix,
    Negative,
}

impl QuantityError {
    /// Says what is wrong, for an error message.
    pub fn as_str(self) -> &'static str {
        match self {
            QuantityError::Empty => "it is empty",
            QuantityError::BadNumber => "it does not start with a number",
            QuantityError::BadSuffix => {
                "its suffix is not one of Ki Mi Gi Ti Pi Ei, n u m k M G T P E or an exponent like e3"
            }
            QuantityError::Negative => "it is negative",
        }
    }
}

/// The quantity's value as a float: exact enough to compare with zero and
/// to order requests against limits.
pub fn parse_quantity(text: &str) -> Result<f64, QuantityError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QuantityError::Empty);
    }
    let number_end = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '+' || c == '-') && i == 0)))
        .map_or(text.len(), |(i, _)| i);
    let (number, suffix) = text.split_at(number_end);
    let digits = number.trim_start_matches(['+', '-']);
    if digits.is_empty() || digits == "." || digits.matches('.').count() > 1 {
        return Err(QuantityError::BadNumber);
    }
    let value: f64 = number.parse().map_err(|_| QuantityError::BadNumber)?;
    if value < 0.0 {
        return Err(QuantityError::Negative);
    }
    Ok(value * multiplier(suffix)?)
}

fn multiplier(suffix: &str) -> Result<f64, QuantityError> {
    let binary = |power: i32| Ok(1024f64.powi(power));
    let decimal = |power: i32| Ok(10f64.powi(power));
    match suffix {
        "" => decimal(0),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        exponent => {
            let power = exponent
                .strip_prefix(['e', 'E'])
                .filter(|p| !p.is_empty() && p.len() <= 4)
                .and_then(|p| p.parse::<i32>().ok())
                .ok_or(QuantityError::BadSuffix)?;
            decimal(power)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_kubernetes_accepts() {
        for (text, value) in [
            ("10Gi", 10.0 * 1024f64.powi(3)),
            ("1Gi", 1024f64.powi(3)),
            ("500m", 0.5),
            ("2", 2.0),
            ("1.5", 1.5),
            (".5", 0.5),
            ("1e3", 1000.0),
            ("1E-3", 0.001),
            ("128974848", 128974848.0),
            ("129M", 129e6),
            ("+3k", 3000.0),
            ("0", 0.0),
        ] {
            let parsed = parse_quantity(text).expect(text);
            assert!(
                (parsed - value).abs() <= value * 1e-12,
                "{text}: {parsed} != {value}"
            );
        }
    }

    #[test]
    fn refuses_what_kubernetes_refuses() {
        for (text, error) in [
            ("", QuantityError::Empty),
            ("Gi", QuantityError::BadNumber),
            ("ten", QuantityError::BadNumber),
            ("1..5", QuantityError::BadNumber),
            ("10GB", QuantityError::BadSuffix),
            ("10 Gi", QuantityError::BadSuffix),
            ("10gi", QuantityError::BadSuffix),
            ("1e", QuantityError::BadSuffix),
            ("-1Gi", QuantityError::Negative),
        ] {
            assert_eq!(parse_quantity(text), Err(error), "{text}");
        }
    }
}
