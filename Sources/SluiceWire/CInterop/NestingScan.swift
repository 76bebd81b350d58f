/// Walks the protobuf wire format of an envelope before protobuf-c unpacks it, to bound the one
/// recursion the schema allows: `ColumnVector.child`. protobuf-c recurses on the C stack for
/// every nested message, so a payload of nested children could otherwise exhaust the stack.
/// Lists are one-dimensional, so a child that has a child of its own is refused.
struct NestingScan {
    private let bytes: UnsafeRawBufferPointer

    /// Field numbers on the path envelope → RecordBatch → ColumnVector → child.
    private static let batchColumnsField: UInt64 = 3
    private static let vectorChildField: UInt64 = 10
    private static let lengthDelimited: UInt64 = 2

    /// Checks `bytes`, an envelope whose field `recordsField` holds a RecordBatch.
    static func check(_ bytes: UnsafeRawBufferPointer, recordsField: UInt64) throws(ProtocolError) {
        let scan = NestingScan(bytes: bytes)
        try scan.fields(0..<bytes.count) { field, range throws(ProtocolError) in
            guard field == recordsField else { return }
            try scan.fields(range) { field, range throws(ProtocolError) in
                guard field == batchColumnsField else { return }
                try scan.fields(range) { field, range throws(ProtocolError) in
                    guard field == vectorChildField else { return }
                    try scan.fields(range) { field, _ throws(ProtocolError) in
                        guard field == vectorChildField else { return }
                        throw ProtocolError(.invalidMessage, "a list column's child has a child of its own; lists are one-dimensional")
                    }
                }
            }
        }
    }

    /// Calls `visit` with the field number and content range of every length-delimited field in
    /// `range`, skipping the others.
    private func fields(_ range: Range<Int>, _ visit: (UInt64, Range<Int>) throws(ProtocolError) -> Void) throws(ProtocolError) {
        var at = range.lowerBound
        while at < range.upperBound {
            let key = try varint(&at, end: range.upperBound)
            let end: Int
            switch key & 7 {
            case 0: _ = try varint(&at, end: range.upperBound); continue
            case 1: end = at + 8
            case 5: end = at + 4
            case Self.lengthDelimited:
                let length = try varint(&at, end: range.upperBound)
                guard length <= UInt64(range.upperBound - at) else { throw Self.malformed }
                end = at + Int(length)
                try visit(key >> 3, at..<end)
            default: throw Self.malformed
            }
            guard end <= range.upperBound else { throw Self.malformed }
            at = end
        }
    }

    private func varint(_ at: inout Int, end: Int) throws(ProtocolError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while at < end && shift < 64 {
            let byte = bytes[at]
            at += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw Self.malformed
    }

    private static let malformed = ProtocolError(.undecodableMessage, "the payload is not a valid protobuf message")
}
