import CLibPQ

/// The parallel C arrays `PQexecParams` and `PQsendQueryParams` take, lent for one call.
///
/// All values are copied into one contiguous buffer (text NUL-terminated, binary as is) that
/// ends with a spare byte, so an empty binary value still gets a non-NULL pointer (NULL means
/// SQL NULL to libpq).
enum ParameterArrays {
    /// The most parameters one statement may bind (the protocol counts them in 16 bits).
    static let maximumCount = 65_535

    /// Checks that libpq can send `parameters` (count, no NUL in text, binary under 2 GiB);
    /// returns the bytes their buffer needs.
    @discardableResult
    static func validate(_ parameters: [PostgresValue], secrets: [String]) throws(PostgresError) -> Int {
        guard parameters.count <= maximumCount else {
            throw PostgresError(kind: .invalidArgument, message: "\(parameters.count) parameters given; at most \(maximumCount) can be bound", secrets: secrets)
        }
        var byteCount = 1
        for (index, parameter) in parameters.enumerated() {
            switch parameter {
            case .null:
                break
            case .text(let text):
                guard !text.utf8.contains(0) else {
                    throw PostgresError(kind: .invalidArgument, message: "text parameter $\(index + 1) contains a NUL character", secrets: secrets)
                }
                byteCount += text.utf8.count + 1
            case .binary(let bytes, _):
                guard bytes.count <= Int(Int32.max) else {
                    throw PostgresError(kind: .invalidArgument, message: "binary parameter $\(index + 1) is larger than 2 GiB", secrets: secrets)
                }
                byteCount += bytes.count
            }
        }
        return byteCount
    }

    /// Calls `body` with the count, types, values, lengths and formats of `parameters`, after
    /// ``validate(_:secrets:)``.
    static func with<Result>(
        _ parameters: [PostgresValue], secrets: [String],
        _ body: (Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> Result
    ) throws(PostgresError) -> Result {
        var storage: [UInt8] = []
        storage.reserveCapacity(try validate(parameters, secrets: secrets))
        var offsets: [Int] = []
        var types: [Oid] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        offsets.reserveCapacity(parameters.count)
        types.reserveCapacity(parameters.count)
        lengths.reserveCapacity(parameters.count)
        formats.reserveCapacity(parameters.count)
        for parameter in parameters {
            switch parameter {
            case .null:
                offsets.append(-1)
                types.append(0)
                lengths.append(0)
                formats.append(0)
            case .text(let text):
                offsets.append(storage.count)
                storage.append(contentsOf: text.utf8)
                storage.append(0)
                types.append(0)
                lengths.append(0)
                formats.append(0)
            case .binary(let bytes, let oid):
                offsets.append(storage.count)
                storage.append(contentsOf: bytes)
                types.append(oid)
                lengths.append(Int32(bytes.count))
                formats.append(1)
            }
        }
        storage.append(0)
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            let values = offsets.map { $0 < 0 ? nil : (base + $0).assumingMemoryBound(to: CChar.self) }
            return values.withUnsafeBufferPointer { values in
                types.withUnsafeBufferPointer { types in
                    lengths.withUnsafeBufferPointer { lengths in
                        formats.withUnsafeBufferPointer { formats in
                            body(Int32(parameters.count), types.baseAddress, values.baseAddress, lengths.baseAddress, formats.baseAddress)
                        }
                    }
                }
            }
        }
    }
}
