import FleetModel

/// The API's JSON coding: `JSONCoding` (declaration order, absent fields as null).
public typealias APIJSON = JSONCoding
