import Foundation

/// Splits text into chunks of at most `chunkSize` characters, recursively: on paragraphs
/// (blank lines) first, then lines, then words, then characters, so chunks end at the most
/// natural boundary that fits. Consecutive chunks cut from one run of pieces share up to
/// `chunkOverlap` characters of whole pieces. Chunks are trimmed; empty ones are dropped.
struct TextSplitter: Sendable {
    static let separators = ["\n\n", "\n", " ", ""]

    let chunkSize: Int
    let chunkOverlap: Int

    func split(_ text: String) -> [String] {
        split(text, separators: Self.separators[...])
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
    }

    private func split(_ text: String, separators: ArraySlice<String>) -> [String] {
        let separator = separators.first { $0.isEmpty || text.contains($0) } ?? ""
        let finer = separators.drop { $0 != separator }.dropFirst()
        let pieces = separator.isEmpty ? text.map(String.init) : Self.pieces(of: text, after: separator)
        var chunks: [String] = []
        var window: [(text: String, length: Int)] = []
        var length = 0
        for piece in pieces {
            let pieceLength = piece.count
            if pieceLength > chunkSize {
                if !window.isEmpty { chunks.append(window.map(\.text).joined()) }
                window.removeAll()
                length = 0
                chunks += split(piece, separators: finer)
                continue
            }
            if length + pieceLength > chunkSize, !window.isEmpty {
                chunks.append(window.map(\.text).joined())
                while length > chunkOverlap || (length > 0 && length + pieceLength > chunkSize) {
                    length -= window.removeFirst().length
                }
            }
            window.append((piece, pieceLength))
            length += pieceLength
        }
        if !window.isEmpty { chunks.append(window.map(\.text).joined()) }
        return chunks
    }

    /// `text` cut after each `separator`, which stays at the end of its piece.
    private static func pieces(of text: String, after separator: String) -> [String] {
        var pieces: [String] = []
        var rest = text[...]
        while let range = rest.firstRange(of: separator) {
            pieces.append(String(rest[..<range.upperBound]))
            rest = rest[range.upperBound...]
        }
        if !rest.isEmpty { pieces.append(String(rest)) }
        return pieces
    }
}
