import SluiceWire

/// PostgreSQL array literals (`{1,NULL,"a \"b\""}`) for list columns on the `unnest` INSERT
/// path, where a list travels as one `text` element of a `text[]` parameter and is cast back.
extension FieldEncoder {
    /// Element kinds whose text form is written here; lists of other kinds use COPY.
    static func listLiteralSupports(_ kind: TypeKind) -> Bool {
        [.bool, .int16, .int32, .int64, .float32, .float64, .decimal, .string, .json, .uuid].contains(kind)
    }

    /// Appends row `row` of a list column as one text field holding its array literal.
    mutating func listLiteral(_ vector: VectorReader, row: Int, elementKind: TypeKind) throws(FieldError) {
        guard vector.isValid(row), let child = vector.child else { return out.int32(-1) }
        let at = out.beginLength()
        out.bytes.append(UInt8(ascii: "{"))
        for element in Int(vector.offsets[row])..<Int(vector.offsets[row + 1]) {
            if element > Int(vector.offsets[row]) { out.bytes.append(UInt8(ascii: ",")) }
            guard child.isValid(element) else {
                out.bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            switch elementKind {
            case .bool: out.bytes.append(child.bools[element] ? UInt8(ascii: "t") : UInt8(ascii: "f"))
            case .int16, .int32: out.bytes.append(contentsOf: String(child.int32s[element]).utf8)
            case .int64: out.bytes.append(contentsOf: String(child.int64s[element]).utf8)
            case .float32: float(Double(child.float32s[element]), description: child.float32s[element].description)
            case .float64: float(child.float64s[element], description: child.float64s[element].description)
            case .uuid: uuid(child.data[(element * 16)..<(element * 16 + 16)])
            default:
                let bytes = child.data[Int(child.offsets[element])..<Int(child.offsets[element + 1])]
                if elementKind == .decimal { try NumericBinary.checkRange(bytes) }
                try quoted(bytes, stripNul: elementKind == .string || elementKind == .json)
            }
        }
        out.bytes.append(UInt8(ascii: "}"))
        try patchLength(at: at)
    }

    private mutating func float(_ value: Double, description: String) {
        if value.isNaN { return out.bytes.append(contentsOf: "NaN".utf8) }
        if value.isInfinite { return out.bytes.append(contentsOf: (value < 0 ? "-Infinity" : "Infinity").utf8) }
        out.bytes.append(contentsOf: description.utf8)
    }

    private mutating func uuid(_ bytes: ArraySlice<UInt8>) {
        let hex = Array("0123456789abcdef".utf8)
        for (index, byte) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(index) { out.bytes.append(UInt8(ascii: "-")) }
            out.bytes.append(hex[Int(byte >> 4)])
            out.bytes.append(hex[Int(byte & 15)])
        }
    }

    private mutating func quoted(_ bytes: ArraySlice<UInt8>, stripNul: Bool) throws(FieldError) {
        out.bytes.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case 0:
                if failOnNul { throw FieldError(reason: "text contains a NUL byte, which PostgreSQL cannot store (nul_bytes: fail)") }
                nulBytesStripped += 1
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.bytes.append(UInt8(ascii: "\\"))
                out.bytes.append(byte)
            default:
                out.bytes.append(byte)
            }
        }
        out.bytes.append(UInt8(ascii: "\""))
    }
}
