/// PostgreSQL identifiers: names longer than 63 bytes are shortened deterministically.
enum Identifiers {
    /// PostgreSQL's NAMEDATALEN - 1.
    static let maxBytes = 63

    /// `name` itself when it fits in 63 bytes, else a prefix cut at a character boundary plus
    /// `_` and 16 hex digits of a 64-bit FNV-1a hash of the whole name, so two long names that
    /// share a prefix stay apart.
    static func shortened(_ name: String) -> String {
        guard name.utf8.count > maxBytes else { return name }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let suffix = "_" + String(hash, radix: 16).leftPadded(to: 16)
        var prefix = ""
        var bytes = 0
        for character in name {
            let size = character.utf8.count
            if bytes + size > maxBytes - suffix.utf8.count { break }
            prefix.append(character)
            bytes += size
        }
        return prefix + suffix
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// A name as a dictionary or set key that keeps apart what PostgreSQL keeps apart: its bytes
/// (String keys merge canonically equivalent spellings such as NFC and NFD `é`).
struct ExactName: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ name: String) { bytes = Array(name.utf8) }
}

extension Array where Element == String {
    /// Whether one of the names is exactly `name`, byte for byte.
    func containsExactly(_ name: String) -> Bool { contains { $0.isExactly(name) } }

    /// The index of the name that is exactly `name`, byte for byte.
    func firstIndexExactly(of name: String) -> Int? { firstIndex { $0.isExactly(name) } }
}
