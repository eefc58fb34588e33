"""The draft's own examples and test vectors, reproduced byte for byte (draft-ietf-oauth-status-list-20).

Every value below is copied from the draft (§4.1, §4.2, §5.1, §6.2, §8.2 and Appendix C): spec examples are facts.
§11.1: "Implementations SHOULD verify correctness using the test vectors given by this specification."
"""

from __future__ import annotations

import pytest

from ssi.clock import FrozenClock
from ssi.encoding import b64url_json
from ssi.keys import PublicKey
from ssi.status_list import (
    INVALID,
    SUSPENDED,
    VALID,
    StatusList,
    StatusListReference,
    compress_status_bytes,
    decompress_status_bytes,
    verify_status_list_token,
)

# --- §4.1 / §4.2: the two small examples ---------------------------------------------------------------------------

# §4.1, 16 Referenced Tokens with bits=1
EXAMPLE_1BIT_STATUSES = (1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1)
EXAMPLE_1BIT_BYTES = bytes([0xB9, 0xA3])
EXAMPLE_1BIT_COMPRESSED_HEX = "78dadbb918000217015d"
EXAMPLE_1BIT_JSON = {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}  # §4.2

# §4.1, 12 Referenced Tokens with bits=2
EXAMPLE_2BIT_STATUSES = (0b01, 0b10, 0b00, 0b11, 0b00, 0b01, 0b00, 0b01, 0b01, 0b10, 0b11, 0b11)
EXAMPLE_2BIT_BYTES = bytes([0xC9, 0x44, 0xF9])
EXAMPLE_2BIT_COMPRESSED_HEX = "78da3be9f2130003df0207"
EXAMPLE_2BIT_JSON = {"bits": 2, "lst": "eNo76fITAAPfAgc"}  # §4.2

# --- §5.1 / §8.2: the example Status List Token ----------------------------------------------------------------------

# §8.2, the raw response body (line breaks removed)
EXAMPLE_TOKEN = (
    "eyJhbGciOiJFUzI1NiIsImtpZCI6IjEyIiwidHlwIjoic3RhdHVzbGlzdCtqd3QifQ"
    ".eyJleHAiOjIyOTE3MjAxNzAsImlhdCI6MTY4NjkyMDE3MCwiaXNzIjoiaHR0cHM6Ly9leGFtcGxlLmNvbSIsInN0YXR1c19saXN0Ijp7ImJp"
    "dHMiOjEsImxzdCI6ImVOcmJ1UmdBQWhjQlhRIn0sInN1YiI6Imh0dHBzOi8vZXhhbXBsZS5jb20vc3RhdHVzbGlzdHMvMSIsInR0bCI6NDMy"
    "MDB9"
    ".2lKUUNG503R9htu4aHAYi7vjmr3sgApbfoDvPrl65N3URUO1EYqqQl45Jfzd-Av4QzlKa3oVALpLwOEUOq-U_g"
)
# §5.1, the decoded example header and claims
EXAMPLE_TOKEN_HEADER = {"alg": "ES256", "kid": "12", "typ": "statuslist+jwt"}
EXAMPLE_TOKEN_CLAIMS = {
    "exp": 2291720170,
    "iat": 1686920170,
    "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"},
    "sub": "https://example.com/statuslists/1",
    "ttl": 43200,
}
# The public half of the example key (kid "12") the draft's examples are signed with; it is published with the
# draft's example generator (oauth-wg/draft-ietf-oauth-status-list, src/util.py), not in the draft text itself.
EXAMPLE_KEY_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "x": "I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo",
    "y": "6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M",
}
# §6.2, the example Referenced Token's status claim
EXAMPLE_STATUS_CLAIM = {"status_list": {"idx": 0, "uri": "https://example.com/statuslists/1"}}

# --- Appendix C: test vectors, each "initialized with a size of 2^20 entries", unlisted entries 0 (VALID) -----------

APPENDIX_C_SIZE = 2**20

# Appendix C (C.1): 1-bit Status List, 2^20 entries
APPENDIX_C_1BIT_ENTRIES = (
    (0, 0b1),
    (1993, 0b1),
    (25460, 0b1),
    (159495, 0b1),
    (495669, 0b1),
    (554353, 0b1),
    (645645, 0b1),
    (723232, 0b1),
    (854545, 0b1),
    (934534, 0b1),
    (1000345, 0b1),
)
APPENDIX_C_1BIT_LST = (
    "eNrt3AENwCAMAEGogklACtKQPg9LugC9k_ACvreiogEAAKkeCQAAAAAAAAAAAAAAAAAAAIBylgQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAXG9IAAAAAAAAAPwsJAAAAAAAAAAAAAAAvhsSAAAAAAAAAAAA7KpLAAAAAAAAAAAAAAAAAAAAAJsLCQAAAAAAAAAA"
    "ADjelAAAAAAAAAAAKjDMAQAAAACAZC8L2AEb"
)
# Appendix C (C.2): 2-bit Status List, 2^20 entries
APPENDIX_C_2BIT_ENTRIES = (
    (0, 0b01),
    (1993, 0b10),
    (25460, 0b01),
    (159495, 0b11),
    (495669, 0b01),
    (554353, 0b01),
    (645645, 0b10),
    (723232, 0b01),
    (854545, 0b01),
    (934534, 0b10),
    (1000345, 0b11),
)
APPENDIX_C_2BIT_LST = (
    "eNrt2zENACEQAEEuoaBABP5VIO01fCjIHTMStt9ovGVIAAAAAABAbiEBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEB5WwIAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAID0ugQA"
    "AAAAAAAAAAAAAAAAQG12SgAAAAAAAAAAAAAAAAAAAAAAAAAAAOCSIQEAAAAAAAAAAAAAAAAAAAAAAAD8ExIAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAwJEuAQAAAAAAAAAAAAAAAAAAAAAAAMB9SwIAAAAAAAAAAAAAAAAAAACoYUoAAAAAAAAAAAAAAEBqH81gAQw"
)
# Appendix C (C.3): 4-bit Status List, 2^20 entries
APPENDIX_C_4BIT_ENTRIES = (
    (0, 0b0001),
    (1993, 0b0010),
    (35460, 0b0011),
    (459495, 0b0100),
    (595669, 0b0101),
    (754353, 0b0110),
    (845645, 0b0111),
    (923232, 0b1000),
    (924445, 0b1001),
    (934534, 0b1010),
    (1004534, 0b1011),
    (1000345, 0b1100),
    (1030203, 0b1101),
    (1030204, 0b1110),
    (1030205, 0b1111),
)
APPENDIX_C_4BIT_LST = (
    "eNrt0EENgDAQADAIHwImkIIEJEwCUpCEBBQRHOy35Li1EjoOQGabAgAAAAAAAAAAAAAAAAAAACC1SQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAABADrsCAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAADoxaEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAIIoCgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACArpwKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAGhqVkAzlwIAAAAAiGVRAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABx3AoAgLpVAQAAAAAAAAAAAAAAwM89"
    "rwMAAAAAAAAAAAjsA9xMBMA"
)
# Appendix C (C.4): 8-bit Status List, 2^20 entries
APPENDIX_C_8BIT_ENTRIES = (
    (233478, 0b00000000),
    (52451, 0b00000001),
    (576778, 0b00000010),
    (513575, 0b00000011),
    (468106, 0b00000100),
    (292632, 0b00000101),
    (214947, 0b00000110),
    (182323, 0b00000111),
    (884834, 0b00001000),
    (66653, 0b00001001),
    (62489, 0b00001010),
    (196493, 0b00001011),
    (458517, 0b00001100),
    (487925, 0b00001101),
    (55649, 0b00001110),
    (416992, 0b00001111),
    (879796, 0b00010000),
    (462297, 0b00010001),
    (942059, 0b00010010),
    (583408, 0b00010011),
    (13628, 0b00010100),
    (334829, 0b00010101),
    (886286, 0b00010110),
    (713557, 0b00010111),
    (582738, 0b00011000),
    (326064, 0b00011001),
    (451545, 0b00011010),
    (705889, 0b00011011),
    (214350, 0b00011100),
    (194502, 0b00011101),
    (796765, 0b00011110),
    (202828, 0b00011111),
    (752834, 0b00100000),
    (721327, 0b00100001),
    (554740, 0b00100010),
    (91122, 0b00100011),
    (963483, 0b00100100),
    (261779, 0b00100101),
    (793844, 0b00100110),
    (165255, 0b00100111),
    (614839, 0b00101000),
    (758403, 0b00101001),
    (403258, 0b00101010),
    (145867, 0b00101011),
    (96100, 0b00101100),
    (477937, 0b00101101),
    (606890, 0b00101110),
    (167335, 0b00101111),
    (488197, 0b00110000),
    (211815, 0b00110001),
    (797182, 0b00110010),
    (582952, 0b00110011),
    (950870, 0b00110100),
    (765108, 0b00110101),
    (341110, 0b00110110),
    (776325, 0b00110111),
    (745056, 0b00111000),
    (439368, 0b00111001),
    (559893, 0b00111010),
    (149741, 0b00111011),
    (358903, 0b00111100),
    (513405, 0b00111101),
    (342679, 0b00111110),
    (969429, 0b00111111),
    (795775, 0b01000000),
    (566121, 0b01000001),
    (460566, 0b01000010),
    (680070, 0b01000011),
    (117310, 0b01000100),
    (480348, 0b01000101),
    (67319, 0b01000110),
    (661552, 0b01000111),
    (841303, 0b01001000),
    (561493, 0b01001001),
    (138807, 0b01001010),
    (442463, 0b01001011),
    (659927, 0b01001100),
    (445910, 0b01001101),
    (1046963, 0b01001110),
    (829700, 0b01001111),
    (962282, 0b01010000),
    (299623, 0b01010001),
    (555493, 0b01010010),
    (292826, 0b01010011),
    (517215, 0b01010100),
    (551009, 0b01010101),
    (898490, 0b01010110),
    (837603, 0b01010111),
    (759161, 0b01011000),
    (459948, 0b01011001),
    (290102, 0b01011010),
    (1034977, 0b01011011),
    (190650, 0b01011100),
    (98810, 0b01011101),
    (229950, 0b01011110),
    (320531, 0b01011111),
    (335506, 0b01100000),
    (885333, 0b01100001),
    (133227, 0b01100010),
    (806915, 0b01100011),
    (800313, 0b01100100),
    (981571, 0b01100101),
    (527253, 0b01100110),
    (24077, 0b01100111),
    (240232, 0b01101000),
    (559572, 0b01101001),
    (713399, 0b01101010),
    (233941, 0b01101011),
    (615514, 0b01101100),
    (911768, 0b01101101),
    (331680, 0b01101110),
    (951527, 0b01101111),
    (6805, 0b01110000),
    (552366, 0b01110001),
    (374660, 0b01110010),
    (223159, 0b01110011),
    (625884, 0b01110100),
    (417146, 0b01110101),
    (320527, 0b01110110),
    (784154, 0b01110111),
    (338792, 0b01111000),
    (1199, 0b01111001),
    (679804, 0b01111010),
    (1024680, 0b01111011),
    (40845, 0b01111100),
    (234603, 0b01111101),
    (761225, 0b01111110),
    (644903, 0b01111111),
    (502167, 0b10000000),
    (121477, 0b10000001),
    (505144, 0b10000010),
    (165165, 0b10000011),
    (179628, 0b10000100),
    (1019195, 0b10000101),
    (145149, 0b10000110),
    (263738, 0b10000111),
    (269256, 0b10001000),
    (996739, 0b10001001),
    (346296, 0b10001010),
    (555864, 0b10001011),
    (887384, 0b10001100),
    (444173, 0b10001101),
    (421844, 0b10001110),
    (653716, 0b10001111),
    (836747, 0b10010000),
    (783119, 0b10010001),
    (918762, 0b10010010),
    (946835, 0b10010011),
    (253764, 0b10010100),
    (519895, 0b10010101),
    (471224, 0b10010110),
    (134272, 0b10010111),
    (709016, 0b10011000),
    (44112, 0b10011001),
    (482585, 0b10011010),
    (461829, 0b10011011),
    (15080, 0b10011100),
    (148883, 0b10011101),
    (123467, 0b10011110),
    (480125, 0b10011111),
    (141348, 0b10100000),
    (65877, 0b10100001),
    (692958, 0b10100010),
    (148598, 0b10100011),
    (499131, 0b10100100),
    (584009, 0b10100101),
    (1017987, 0b10100110),
    (449287, 0b10100111),
    (277478, 0b10101000),
    (991262, 0b10101001),
    (509602, 0b10101010),
    (991896, 0b10101011),
    (853666, 0b10101100),
    (399318, 0b10101101),
    (197815, 0b10101110),
    (203278, 0b10101111),
    (903979, 0b10110000),
    (743015, 0b10110001),
    (888308, 0b10110010),
    (862143, 0b10110011),
    (979421, 0b10110100),
    (113605, 0b10110101),
    (206397, 0b10110110),
    (127113, 0b10110111),
    (844358, 0b10111000),
    (711569, 0b10111001),
    (229153, 0b10111010),
    (521470, 0b10111011),
    (401793, 0b10111100),
    (398896, 0b10111101),
    (940810, 0b10111110),
    (293983, 0b10111111),
    (884749, 0b11000000),
    (384802, 0b11000001),
    (584151, 0b11000010),
    (970201, 0b11000011),
    (523882, 0b11000100),
    (158093, 0b11000101),
    (929312, 0b11000110),
    (205329, 0b11000111),
    (106091, 0b11001000),
    (30949, 0b11001001),
    (195586, 0b11001010),
    (495723, 0b11001011),
    (348779, 0b11001100),
    (852312, 0b11001101),
    (1018463, 0b11001110),
    (1009481, 0b11001111),
    (448260, 0b11010000),
    (841042, 0b11010001),
    (122967, 0b11010010),
    (345269, 0b11010011),
    (794764, 0b11010100),
    (4520, 0b11010101),
    (818773, 0b11010110),
    (556171, 0b11010111),
    (954221, 0b11011000),
    (598210, 0b11011001),
    (887110, 0b11011010),
    (1020623, 0b11011011),
    (324632, 0b11011100),
    (398244, 0b11011101),
    (622241, 0b11011110),
    (456551, 0b11011111),
    (122648, 0b11100000),
    (127837, 0b11100001),
    (657676, 0b11100010),
    (119884, 0b11100011),
    (105156, 0b11100100),
    (999897, 0b11100101),
    (330160, 0b11100110),
    (119285, 0b11100111),
    (168005, 0b11101000),
    (389703, 0b11101001),
    (143699, 0b11101010),
    (142524, 0b11101011),
    (493258, 0b11101100),
    (846778, 0b11101101),
    (251420, 0b11101110),
    (516351, 0b11101111),
    (83344, 0b11110000),
    (171931, 0b11110001),
    (879178, 0b11110010),
    (663475, 0b11110011),
    (546865, 0b11110100),
    (428362, 0b11110101),
    (658891, 0b11110110),
    (500560, 0b11110111),
    (557034, 0b11111000),
    (830023, 0b11111001),
    (274471, 0b11111010),
    (629139, 0b11111011),
    (958869, 0b11111100),
    (663071, 0b11111101),
    (152133, 0b11111110),
    (19535, 0b11111111),
)
APPENDIX_C_8BIT_LST = (
    "eNrt0WOQM2kYhtGsbdu2bdu2bdu2bdu2bdu2jVnU1my-SWYm6U5enFPVf7ue97orFYAo7CQBAACQuuckAABStqUEAAAAAAAAtN6wEgAE71QJ"
    "AAAAAIrwhwQAAAAAAdtAAgAAAAAAACLwkAQAAAAAAAAAAACUaFcJAACAeJwkAQAAAAAAAABQvL4kAAAAWmJwCQAAAAAAAAjAwBIAAAB06ywJ"
    "oDKQBARpfgkAAAAAAAAAAAAAAAAAAACo50sJAAAAAAAAAOiRcSQAAAAAgAJNKgEAAG23mgQAAAAAAECw3pUAQvegBAAAAAAAAADduE4CAAAA"
    "yjSvBAAQiw8koHjvSABAb-wlARCONyVoxtMSZOd0CQAAAOjWDRKQmLckAAAAAACysLYEQGcnSAAAAAAQooUlAABI15kSAIH5RAIgLB9LABC4"
    "_SUgGZNIAABAmM6RoLbTJIASzCIBAEAhfpcAAAAAAABquk8CAAAAAAAAaJl9SvvzBOICAFWmkIBgfSgBAAAANOgrCQAAAAAAAADStK8EAAC0"
    "3gASAAAAAAAAAADFWFUCAAAAMjOaBEADHpYAQjCIBADduFwCAAAAAGitMSSI3BUSAECOHpAA6IHrJQAAAAAAsjeVBAAAKRpVAorWvwQAAAAA"
    "AAAAkKRtJAAAAAAAgCbcLAF0bXUJAAAAoF02kYDg7CYBAAAAAEB6NpQAAAAAAAAAAAAAAEr1uQQAAF06VgIAAAAAAAAAqDaeBAAQqgMkAAAA"
    "AABogQMlAAAAAAAa87MEAAAQiwslAAAAAAAAAAAAAAAAMrOyBAAAiekv-hcsY0Sgne6QAAAAAAAgaUtJAAAAAAAAAAAAAAAAAAAAAAAAAADw"
    "t-07vjVkAAAAgDy8KgFAUEaSAAAAAJL3vgQAWdhcAgAAoBHDSUDo1pQAAACI2o4SAABZm14CALoyuwQAAPznGQkgZwdLAAAQukclAAAAAAAA"
    "AAAAgKbMKgEAAAAAAAAAAAAAAAAAAECftpYAAAAAAAAAAAAACnaXBAAAAADk7iMJAAAAAAAAAABqe00CAnGbBBG4TAIAgFDdKgFAXCaWAAAA"
    "AAAAAAAAAAAAAKAJQwR72XbGAQAAAKAhh0sAAAAAAABQgO8kAAAAAAAAAAAAACAaM0kAAAC5W0QCAIJ3mAQAxGwxCQAA6nhSAsjZBRIAANEb"
    "WQIAAAAAaJE3JACAwA0qAUBIVpKAlphbAiAPp0iQnKEkAAAAAAAgBP1KAAAAdOl4CQAAAAAAAPjLZBIAAG10RtrPm8_CAEBMTpYAAAAAAIjQ"
    "YBL8z5QSAAAAAEDYPpUAACAsj0gAAADQkHMlAAjHDxIA0Lg9JQAAgHDsLQEAAABAQS6WAAAAgLjNFs2l_RgLAIAEfCEBlGZZCQAAaIHjJACg"
    "tlskAAAozb0SAAAAVFtfAgAAAAAAAAAAAAAAAAAAAAAAAKDDtxIAAAAAVZaTAKB5W0kAANCAsSUgJ0tL0GqHSNBbL0gAZflRAgCARG0kQXNm"
    "lgCABiwkAQAAAEB25pIAAAAAAAAAAAAAoFh9SwAAAAAAADWNmOSrpjFsEoaRgDKcF9Q1dxsEAAAAAAAAAAAAAAAAgPZ6SQIAAAAAAAAAgChM"
    "LgEAAAAAAAAAqZlQAsK2qQQAAAAAAAD06XUJAAAAqG9bCQAAgLD9IgEAAAAAAAAAAAAAAAAAAEBNe0gAAAAAAAAAAEBPHSEBAAAAlOZtCYA4"
    "fS8B0GFRCQAo0gISAOTgNwmC840EAAAAAAAAAAAAAAAAAAAAUJydJfjXPBIAAAAAAAAAAAAAAABk6WwJAAAAAAAAAAAAAAAAqG8UCQAAgPpO"
    "lAAAIA83SQAANWwc9HUjGAgAAAAAAACAusaSAAAAAAAAAAAAAAAAAAAAAAAAAAAAqHKVBACQjxklAAAAAAAAAKBHxpQAAAAAACBME0lAdlaU"
    "AACyt7sEAAAA0Nl0EgAAAAAAAAAAAABA-8wgAQAAAAAAAKU4SgKgUtlBAgAAAAAAAAAAgMCMLwEE51kJICdzSgCJGl2CsE0tAQAA0L11JQAA"
    "AAAAAAjUOhIAAAAAAAAAAAAAAGTqeQkAAAAAAAAAAAAAKM8SEjTrJwkAAAAAAACocqQEULgVJAAAACjDUxJUKgtKAAAAqbpRAgCA0n0mAQAA"
    "AABAGzwmAUCTLpUAAAAAAAAAAEjZNRIAAAAAAAAAAAAAAAAAAAAA8I-vJaAlhpQAAAAAAHrvzjJ-OqCuuVlLAojP8BJAr70sQZVDJYAgXS0B"
    "AAAAAAAAAAAAtMnyEgAAAAAAFONKCQAAAAAAAADorc0kAAAAAAAAgDqOlgAAAAAAAAAAAADIwv0SAAAAAAAAAAAAAADBuV0CIFVDSwAAAABA"
    "AI6RAAAAAGIwrQSEZAsJAABouRclAAAAAKDDrxIAAAA0bkkJgFiMKwEAAAAAAHQyhwRk7h4JAAAAAAAAAAAgatdKAACUYj0JAAAAAAAAAAAA"
    "QnORBLTFJRIAAAAAkIaDJAAAAJryngQAAAAAAAAAAAA98oQEAAAAAAAAAEC2zpcgWY9LQKL2kwAgGK9IAAAAAPHaRQIAAAAAAAAAAADIxyoS"
    "AAAAAAAAAAAAAADQFotLAECz_gQ1PX-B"
)


def _from_statuses(statuses: tuple[int, ...], bits: int) -> StatusList:
    status_list = StatusList(len(statuses), bits)
    for idx, status in enumerate(statuses):
        status_list.set(idx, status)
    return status_list


@pytest.mark.parametrize(
    ("statuses", "bits", "raw", "compressed_hex", "json_obj"),
    [
        (EXAMPLE_1BIT_STATUSES, 1, EXAMPLE_1BIT_BYTES, EXAMPLE_1BIT_COMPRESSED_HEX, EXAMPLE_1BIT_JSON),
        (EXAMPLE_2BIT_STATUSES, 2, EXAMPLE_2BIT_BYTES, EXAMPLE_2BIT_COMPRESSED_HEX, EXAMPLE_2BIT_JSON),
    ],
    ids=["1-bit", "2-bit"],
)
def test_section_4_1_and_4_2_examples_encode_byte_for_byte(
    statuses: tuple[int, ...], bits: int, raw: bytes, compressed_hex: str, json_obj: dict[str, object]
) -> None:
    """§4.1 byte array + compressed hex (ZLIB, highest level) and §4.2 JSON ``lst`` of the examples, exactly."""
    status_list = _from_statuses(statuses, bits)
    assert status_list.to_bytes() == raw
    assert status_list.compressed().hex() == compressed_hex
    assert compress_status_bytes(raw).hex() == compressed_hex
    assert status_list.to_json() == json_obj


@pytest.mark.parametrize(
    ("statuses", "json_obj", "raw"),
    [
        (EXAMPLE_1BIT_STATUSES, EXAMPLE_1BIT_JSON, EXAMPLE_1BIT_BYTES),
        (EXAMPLE_2BIT_STATUSES, EXAMPLE_2BIT_JSON, EXAMPLE_2BIT_BYTES),
    ],
    ids=["1-bit", "2-bit"],
)
def test_section_4_2_examples_decode(statuses: tuple[int, ...], json_obj: dict[str, object], raw: bytes) -> None:
    """§4.2 JSON examples decode to the §4.1 statuses (index 0 in the least significant bits of byte 0)."""
    status_list = StatusList.from_json(json_obj)
    assert status_list.to_bytes() == raw
    assert [status_list.get(i) for i in range(len(statuses))] == list(statuses)
    assert decompress_status_bytes(bytes.fromhex(EXAMPLE_1BIT_COMPRESSED_HEX)) == EXAMPLE_1BIT_BYTES


def test_section_4_1_bit_order_of_the_1bit_example() -> None:
    """§4.1: byte 0 = 0xB9 holds indices 7..0 from its most to its least significant bit (§11.1 "right to left")."""
    status_list = StatusList.from_json(EXAMPLE_1BIT_JSON)
    assert status_list.get(0) == INVALID  # bit 0 of 0xB9 = 1
    assert status_list.get(1) == VALID  # bit 1 of 0xB9 = 0
    assert status_list.get(8) == INVALID  # bit 0 of 0xA3 = 1
    assert status_list.get(15) == INVALID  # bit 7 of 0xA3 = 1


def test_section_4_1_2bit_example_has_suspended() -> None:
    """§4.1: the 2-bit example carries SUSPENDED (0x02) at index 1 and the value 0b11 at index 3."""
    status_list = StatusList.from_json(EXAMPLE_2BIT_JSON)
    assert status_list.get(1) == SUSPENDED
    assert status_list.get(3) == 0b11


APPENDIX_C = [
    (1, APPENDIX_C_1BIT_ENTRIES, APPENDIX_C_1BIT_LST),
    (2, APPENDIX_C_2BIT_ENTRIES, APPENDIX_C_2BIT_LST),
    (4, APPENDIX_C_4BIT_ENTRIES, APPENDIX_C_4BIT_LST),
    (8, APPENDIX_C_8BIT_ENTRIES, APPENDIX_C_8BIT_LST),
]


@pytest.mark.parametrize(("bits", "entries", "lst"), APPENDIX_C, ids=["C.1", "C.2", "C.3", "C.4"])
def test_appendix_c_vectors_encode_byte_for_byte(bits: int, entries: tuple[tuple[int, int], ...], lst: str) -> None:
    """Appendix C: a 2^20-entry list with the listed statuses encodes to exactly the draft's ``lst``."""
    status_list = StatusList(APPENDIX_C_SIZE, bits)
    for idx, status in entries:
        status_list.set(idx, status)
    assert status_list.to_json() == {"bits": bits, "lst": lst}


@pytest.mark.parametrize(("bits", "entries", "lst"), APPENDIX_C, ids=["C.1", "C.2", "C.3", "C.4"])
def test_appendix_c_vectors_decode(bits: int, entries: tuple[tuple[int, int], ...], lst: str) -> None:
    """Appendix C: decoding the draft's ``lst`` yields the listed statuses and 0 (VALID) everywhere else."""
    status_list = StatusList.from_json({"bits": bits, "lst": lst})
    assert status_list.size == APPENDIX_C_SIZE
    expected = dict(entries)
    for idx, status in entries:
        assert status_list.get(idx) == status
    nonzero = {i for i, byte in enumerate(status_list.to_bytes()) if byte}
    per_byte = 8 // bits
    assert nonzero == {idx // per_byte for idx, status in expected.items() if status}


def test_section_5_1_example_token_claims_structure() -> None:
    """§5.1: the example token has typ statuslist+jwt and the sub/iat/exp/ttl/status_list claims of the draft.

    The raw §8.2 body additionally carries ``"iss": "https://example.com"``, which the decoded §5.1 example omits
    (a discrepancy in the draft itself; §5.1 rule 1 allows other claims).
    """
    header_b64, payload_b64, _ = EXAMPLE_TOKEN.split(".")
    assert b64url_json(header_b64) == EXAMPLE_TOKEN_HEADER
    claims = b64url_json(payload_b64)
    assert claims == {**EXAMPLE_TOKEN_CLAIMS, "iss": "https://example.com"}


def test_section_5_1_example_token_verifies() -> None:
    """§5.1/§8.3: the example token verifies (signature, typ, sub == the §6.2 example uri, iat, exp, ttl)."""
    reference = StatusListReference.from_status_claim(EXAMPLE_STATUS_CLAIM)
    token = verify_status_list_token(
        EXAMPLE_TOKEN,
        PublicKey.from_jwk(EXAMPLE_KEY_JWK),
        ["ES256"],
        uri=reference.uri,
        clock=FrozenClock(1686920170 + 3600),
    )
    assert token.uri == "https://example.com/statuslists/1"
    assert token.issued_at == 1686920170
    assert token.expires_at == 2291720170
    assert token.ttl == 43200
    assert token.status_list == StatusList.from_json(EXAMPLE_1BIT_JSON)
    assert token.header["kid"] == "12"
    assert token.status(reference.idx) == INVALID  # §6.2 example idx 0 -> the §4.1 list's first bit is 1


def test_section_6_2_example_status_claim() -> None:
    """§6.2: the example Referenced Token's status claim parses to idx 0 and its uri, and serializes back."""
    reference = StatusListReference.from_status_claim(EXAMPLE_STATUS_CLAIM)
    assert reference == StatusListReference(idx=0, uri="https://example.com/statuslists/1")
    assert reference.to_status_claim() == EXAMPLE_STATUS_CLAIM
