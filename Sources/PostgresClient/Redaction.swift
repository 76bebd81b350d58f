/// Removes secrets from text before it is stored in an error or handed to a log.
enum Redaction {
    /// What replaces each secret.
    static let mask = "***"

    /// `text` with every occurrence of each secret replaced by ``mask``, longest secret first.
    static func scrub(_ text: String, _ secrets: [String]) -> String {
        var scrubbed = text
        for secret in secrets where !secret.isEmpty && scrubbed.contains(secret) {
            scrubbed = scrubbed.replacing(secret, with: mask)
        }
        return scrubbed
    }

    /// The non-empty secrets without duplicates, longest first, so that a secret containing
    /// another is replaced whole.
    static func normalised(_ secrets: [String]) -> [String] {
        Array(Set(secrets.filter { !$0.isEmpty })).sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }
}
