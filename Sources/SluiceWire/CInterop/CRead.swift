import SluiceProtoC

/// Copies the fields of an unpacked protobuf-c message into Swift values. The source memory
/// belongs to the unpacked message; everything returned is Swift-owned.
enum CRead {
    /// A bulk copy of a packed repeated field.
    static func array<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: Int) -> [T] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// A repeated `bool` field (protobuf-c stores each as a 32-bit int).
    static func bools(_ pointer: UnsafeMutablePointer<protobuf_c_boolean>?, _ count: Int) -> [Bool] {
        guard let pointer, count > 0 else { return [] }
        return [Bool](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer.initializeElement(at: index, to: pointer[index] != 0) }
            initialized = count
        }
    }

    /// A `bytes` field.
    static func bytes(_ field: ProtobufCBinaryData) -> [UInt8] { array(field.data, field.len) }

    /// A `string` field; invalid UTF-8 is repaired.
    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    /// A repeated `string` field.
    static func strings(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ count: Int) -> [String] {
        guard let pointer, count > 0 else { return [] }
        return (0..<count).map { string(pointer[$0]) }
    }

    /// A repeated enum field, each value mapped by `convert`.
    static func enums<C: RawRepresentable, T>(_ pointer: UnsafeMutablePointer<C>?, _ count: Int, _ convert: (C) -> T) -> [T] {
        guard let pointer, count > 0 else { return [] }
        return (0..<count).map { convert(pointer[$0]) }
    }

    /// A repeated message field, each message converted by `convert`.
    static func messages<M, T>(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<M>?>?, _ count: Int,
                               _ convert: (UnsafeMutablePointer<M>) throws(ProtocolError) -> T) throws(ProtocolError) -> [T] {
        guard let pointer, count > 0 else { return [] }
        var result: [T] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            guard let message = pointer[index] else { throw ProtocolError(.invalidMessage, "a repeated message field holds a null entry") }
            result.append(try convert(message))
        }
        return result
    }

    /// The raw value of a protobuf-c enum as the wire's int32.
    static func raw<C: RawRepresentable>(_ value: C) -> Int32 where C.RawValue: BinaryInteger {
        Int32(truncatingIfNeeded: value.rawValue)
    }
}
