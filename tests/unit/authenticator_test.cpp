#include "auth/authenticator.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace storygate::auth {

// Readable verdicts in failure messages (internal linkage; found by ADL).
static void PrintTo(verdict v, std::ostream* os) {
  switch (v) {
    case verdict::accepted: *os << "accepted"; return;
    case verdict::missing: *os << "missing"; return;
    case verdict::malformed: *os << "malformed"; return;
    case verdict::rejected: *os << "rejected"; return;
  }
  *os << "verdict(" << static_cast<int>(v) << ")";
}

namespace {

std::string base64(std::string_view text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string basic(std::string_view pair) { return "Basic " + base64(pair); }

authenticator with_bearer(std::string_view token) {
  authenticator a;
  a.add_bearer_token(token);
  return a;
}

authenticator with_basic(std::string_view pair) {
  authenticator a;
  a.add_basic(pair);
  return a;
}

// Writes `content` to a fresh file with `mode`; removed when the test ends.
class AuthenticatorFile : public ::testing::Test {
 protected:
  std::string write(const std::string& content, mode_t mode) {
    std::string path = ::testing::TempDir() + "storygate_credentials_XXXXXX";
    const int fd = mkstemp(path.data());
    if (fd < 0) {
      ADD_FAILURE() << "mkstemp failed";
      return path;
    }
    close(fd);
    paths_.push_back(path);
    std::ofstream(path, std::ios::binary) << content;
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  void TearDown() override {
    for (const auto& p : paths_) std::remove(p.c_str());
  }

 private:
  std::vector<std::string> paths_;
};

// ---------------------------------------------------------------- no credentials

TEST(Authenticator, NoCredentialsAcceptsEveryRequest) {
  const authenticator a;
  EXPECT_FALSE(a.requires_credentials());
  EXPECT_EQ(a.credential_count(), 0u);
  EXPECT_EQ(a.check(""), verdict::accepted);
  EXPECT_EQ(a.check("garbage"), verdict::accepted);
  EXPECT_EQ(a.check("Bearer anything"), verdict::accepted);
  EXPECT_EQ(a.check(basic("x:y")), verdict::accepted);
}

// ---------------------------------------------------------------- Bearer

TEST(Authenticator, BearerAccepted) {
  const auto a = with_bearer("s3cr3t-token");
  EXPECT_TRUE(a.requires_credentials());
  EXPECT_EQ(a.credential_count(), 1u);
  EXPECT_EQ(a.check("Bearer s3cr3t-token"), verdict::accepted);
}

TEST(Authenticator, BearerRejected) {
  const auto a = with_bearer("s3cr3t-token");
  EXPECT_EQ(a.check("Bearer s3cr3t-tokeN"), verdict::rejected);
  EXPECT_EQ(a.check("Bearer s3cr3t-token2"), verdict::rejected);
  EXPECT_EQ(a.check("Bearer s3cr3t-toke"), verdict::rejected);
  EXPECT_EQ(a.check("Bearer x"), verdict::rejected);
}

TEST(Authenticator, SchemeIsCaseInsensitive) {
  const auto a = with_bearer("tok");
  EXPECT_EQ(a.check("bearer tok"), verdict::accepted);
  EXPECT_EQ(a.check("BEARER tok"), verdict::accepted);
  EXPECT_EQ(a.check("bEaReR tok"), verdict::accepted);
  const auto b = with_basic("user:pass");
  EXPECT_EQ(b.check("basic dXNlcjpwYXNz"), verdict::accepted);
  EXPECT_EQ(b.check("BASIC dXNlcjpwYXNz"), verdict::accepted);
}

TEST(Authenticator, TokenIsCaseSensitive) {
  EXPECT_EQ(with_bearer("tok").check("Bearer TOK"), verdict::rejected);
}

TEST(Authenticator, ExtraSpacesAroundCredentialIgnored) {
  const auto a = with_bearer("tok");
  EXPECT_EQ(a.check("Bearer   tok"), verdict::accepted);
  EXPECT_EQ(a.check("Bearer tok  "), verdict::accepted);
}

// ---------------------------------------------------------------- Basic

TEST(Authenticator, BasicAccepted) {
  EXPECT_EQ(with_basic("user:pass").check("Basic dXNlcjpwYXNz"), verdict::accepted);
  EXPECT_EQ(with_basic("alice:s3cret").check(basic("alice:s3cret")), verdict::accepted);
}

TEST(Authenticator, BasicWithOnePaddingCharacter) {
  EXPECT_EQ(base64("user:pas"), "dXNlcjpwYXM=");
  EXPECT_EQ(with_basic("user:pas").check("Basic dXNlcjpwYXM="), verdict::accepted);
  EXPECT_EQ(with_basic("bob:hunter2").check("Basic Ym9iOmh1bnRlcjI="), verdict::accepted);
}

TEST(Authenticator, BasicWithTwoPaddingCharacters) {
  EXPECT_EQ(base64("user:pa"), "dXNlcjpwYQ==");
  EXPECT_EQ(with_basic("user:pa").check("Basic dXNlcjpwYQ=="), verdict::accepted);
}

TEST(Authenticator, PaddingIsNotPartOfThePassword) {
  // "user:pa" padded must not match a password with trailing NUL bytes, nor
  // "user:pas" (one byte longer) match "user:pa".
  EXPECT_EQ(with_basic("user:pas").check("Basic dXNlcjpwYQ=="), verdict::rejected);
  EXPECT_EQ(with_basic("user:pa").check("Basic dXNlcjpwYXM="), verdict::rejected);
}

TEST(Authenticator, BasicPasswordMayContainColons) {
  const auto a = with_basic("a:b:c");
  EXPECT_EQ(a.check(basic("a:b:c")), verdict::accepted);
  EXPECT_EQ(a.check(basic("a:b")), verdict::rejected);
}

TEST(Authenticator, BasicRejected) {
  const auto a = with_basic("user:pass");
  EXPECT_EQ(a.check(basic("user:Pass")), verdict::rejected);
  EXPECT_EQ(a.check(basic("User:pass")), verdict::rejected);
  EXPECT_EQ(a.check(basic("user:pass ")), verdict::rejected);
  EXPECT_EQ(a.check(basic("user:")), verdict::rejected);
  EXPECT_EQ(a.check(basic(":pass")), verdict::rejected);
}

TEST(Authenticator, BasicWithoutPaddingIsMalformed) {
  // RFC 7617 uses padded base64 (RFC 4648 section 4).
  EXPECT_EQ(with_basic("user:pa").check("Basic dXNlcjpwYQ"), verdict::malformed);
  EXPECT_EQ(with_basic("user:pas").check("Basic dXNlcjpwYXM"), verdict::malformed);
}

TEST(Authenticator, BasicBadBase64IsMalformed) {
  const auto a = with_basic("user:pass");
  EXPECT_EQ(a.check("Basic !!!!"), verdict::malformed);
  EXPECT_EQ(a.check("Basic dXNlcjpwYXN"), verdict::malformed);     // length not a multiple of 4
  EXPECT_EQ(a.check("Basic dXNl*jpwYXNz"), verdict::malformed);
  EXPECT_EQ(a.check("Basic " + std::string(5000, 'A')), verdict::malformed);  // too long
}

TEST(Authenticator, BasicWithoutColonIsMalformed) {
  const auto a = with_basic("user:pass");
  EXPECT_EQ(base64("nocolon"), "bm9jb2xvbg==");
  EXPECT_EQ(a.check("Basic bm9jb2xvbg=="), verdict::malformed);
}

// ---------------------------------------------------------------- header shape

TEST(Authenticator, MissingHeader) {
  EXPECT_EQ(with_bearer("tok").check(""), verdict::missing);
  EXPECT_EQ(with_basic("u:p").check(""), verdict::missing);
}

TEST(Authenticator, NoSpaceIsMalformed) {
  const auto a = with_bearer("tok");
  EXPECT_EQ(a.check("Bearer"), verdict::malformed);
  EXPECT_EQ(a.check("Bearertok"), verdict::malformed);
  EXPECT_EQ(a.check("tok"), verdict::malformed);
}

TEST(Authenticator, EmptyCredentialIsMalformed) {
  const auto a = with_bearer("tok");
  EXPECT_EQ(a.check("Bearer "), verdict::malformed);
  EXPECT_EQ(a.check("Bearer    "), verdict::malformed);
  EXPECT_EQ(a.check("Basic "), verdict::malformed);
}

TEST(Authenticator, UnknownSchemeIsMalformed) {
  const auto a = with_bearer("tok");
  EXPECT_EQ(a.check("Token tok"), verdict::malformed);
  EXPECT_EQ(a.check("Digest tok"), verdict::malformed);
  EXPECT_EQ(a.check("Bearer: tok"), verdict::malformed);
  EXPECT_EQ(a.check(" Bearer tok"), verdict::malformed);
}

// ---------------------------------------------------------------- several credentials

TEST(Authenticator, RotationAcceptsOldAndNew) {
  authenticator a;
  a.add_bearer_token("old-token");
  a.add_bearer_token("new-token");
  a.add_basic("partner:old");
  a.add_basic("partner:new");
  EXPECT_EQ(a.credential_count(), 4u);
  EXPECT_EQ(a.check("Bearer old-token"), verdict::accepted);
  EXPECT_EQ(a.check("Bearer new-token"), verdict::accepted);
  EXPECT_EQ(a.check(basic("partner:old")), verdict::accepted);
  EXPECT_EQ(a.check(basic("partner:new")), verdict::accepted);
  EXPECT_EQ(a.check("Bearer older-token"), verdict::rejected);
  EXPECT_EQ(a.check(basic("partner:newer")), verdict::rejected);
}

TEST(Authenticator, BearerTokenNeverMatchesBasicPairWithTheSameText) {
  const auto bearer_only = with_bearer("user:pass");
  EXPECT_EQ(bearer_only.check(basic("user:pass")), verdict::rejected);
  EXPECT_EQ(bearer_only.check("Bearer user:pass"), verdict::accepted);

  const auto basic_only = with_basic("user:pass");
  EXPECT_EQ(basic_only.check("Bearer user:pass"), verdict::rejected);
  EXPECT_EQ(basic_only.check("Bearer dXNlcjpwYXNz"), verdict::rejected);
}

// ---------------------------------------------------------------- adding credentials

TEST(Authenticator, EmptyBearerTokenRefused) {
  authenticator a;
  EXPECT_THROW(a.add_bearer_token(""), credentials_error);
  EXPECT_FALSE(a.requires_credentials());
}

TEST(Authenticator, BasicPairMustHaveUserAndPassword) {
  authenticator a;
  EXPECT_THROW(a.add_basic("nocolon"), credentials_error);
  EXPECT_THROW(a.add_basic(":pass"), credentials_error);
  EXPECT_THROW(a.add_basic("user:"), credentials_error);
  EXPECT_THROW(a.add_basic(""), credentials_error);
  EXPECT_EQ(a.credential_count(), 0u);
}

TEST(Authenticator, BearerTokensFromEnvironmentText) {
  authenticator a;
  a.add_bearer_tokens_from_text("  tok-one\ttok-two\n tok-three  ");
  EXPECT_EQ(a.credential_count(), 3u);
  EXPECT_EQ(a.check("Bearer tok-one"), verdict::accepted);
  EXPECT_EQ(a.check("Bearer tok-two"), verdict::accepted);
  EXPECT_EQ(a.check("Bearer tok-three"), verdict::accepted);
  EXPECT_EQ(a.check("Bearer tok-one tok-two"), verdict::rejected);
}

TEST(Authenticator, BasicPairsFromEnvironmentText) {
  authenticator a;
  a.add_basic_from_text("alice:one bob:two\ncarol:three");
  EXPECT_EQ(a.credential_count(), 3u);
  EXPECT_EQ(a.check(basic("alice:one")), verdict::accepted);
  EXPECT_EQ(a.check(basic("bob:two")), verdict::accepted);
  EXPECT_EQ(a.check(basic("carol:three")), verdict::accepted);
  EXPECT_EQ(a.check(basic("alice:two")), verdict::rejected);
}

TEST(Authenticator, BlankEnvironmentTextAddsNothing) {
  authenticator a;
  a.add_bearer_tokens_from_text(" \t\n ");
  a.add_basic_from_text("");
  EXPECT_FALSE(a.requires_credentials());
}

TEST(Authenticator, BadBasicPairInEnvironmentTextThrows) {
  authenticator a;
  EXPECT_THROW(a.add_basic_from_text("alice:one bob"), credentials_error);
}

// ---------------------------------------------------------------- files

TEST_F(AuthenticatorFile, BearerFileWithPrivateModeAccepted) {
  const auto path = write("# partner tokens\n\nfirst-token\r\nsecond-token  \n\n# old\n", 0600);
  authenticator a;
  a.add_bearer_token_file(path);
  EXPECT_EQ(a.credential_count(), 2u);
  EXPECT_EQ(a.check("Bearer first-token"), verdict::accepted);
  EXPECT_EQ(a.check("Bearer second-token"), verdict::accepted);
  EXPECT_EQ(a.check("Bearer # partner tokens"), verdict::rejected);
  EXPECT_EQ(a.check("Bearer # old"), verdict::rejected);
}

TEST_F(AuthenticatorFile, BasicFileWithCrlfAccepted) {
  const auto path = write("alice:one\r\n# comment\r\n\r\nbob:two\r\n", 0600);
  authenticator a;
  a.add_basic_file(path);
  EXPECT_EQ(a.credential_count(), 2u);
  EXPECT_EQ(a.check(basic("alice:one")), verdict::accepted);
  EXPECT_EQ(a.check(basic("bob:two")), verdict::accepted);
  EXPECT_EQ(a.check(basic("alice:one\r")), verdict::rejected);
}

TEST_F(AuthenticatorFile, IndentedLinesTrimmedLikeTrailingWhitespace) {
  // Trailing blanks are dropped; leading ones must be too, or an indented
  // token is stored with its indentation, and check() (which trims the
  // presented credential) can never match it.
  const auto path = write("  indented-token\n\t# indented comment\n", 0600);
  authenticator a;
  a.add_bearer_token_file(path);
  EXPECT_EQ(a.credential_count(), 1u);
  EXPECT_EQ(a.check("Bearer indented-token"), verdict::accepted);
}

TEST_F(AuthenticatorFile, LastLineWithoutNewline) {
  const auto path = write("only-token", 0400);
  authenticator a;
  a.add_bearer_token_file(path);
  EXPECT_EQ(a.check("Bearer only-token"), verdict::accepted);
}

TEST_F(AuthenticatorFile, WorldReadableFileRefused) {
  const auto path = write("token\n", 0644);
  authenticator a;
  try {
    a.add_bearer_token_file(path);
    FAIL() << "accepted a world-readable file";
  } catch (const credentials_error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": readable by every user; run chmod o-r on it");
  }
  EXPECT_FALSE(a.requires_credentials());
  EXPECT_THROW(a.add_basic_file(write("u:p\n", 0604)), credentials_error);
}

TEST_F(AuthenticatorFile, EmptyFileRefused) {
  const auto path = write("", 0600);
  authenticator a;
  try {
    a.add_bearer_token_file(path);
    FAIL() << "accepted an empty file";
  } catch (const credentials_error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": holds no credentials");
  }
}

TEST_F(AuthenticatorFile, FileWithOnlyCommentsRefused) {
  authenticator a;
  EXPECT_THROW(a.add_basic_file(write("# nobody yet\n\n   \n", 0600)), credentials_error);
}

TEST_F(AuthenticatorFile, MissingFileRefused) {
  authenticator a;
  try {
    a.add_bearer_token_file("/nonexistent/storygate/tokens");
    FAIL() << "accepted a missing file";
  } catch (const credentials_error& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/storygate/tokens: cannot read the file");
  }
}

TEST_F(AuthenticatorFile, BadBasicLineRefused) {
  authenticator a;
  EXPECT_THROW(a.add_basic_file(write("alice:one\nbob\n", 0600)), credentials_error);
}

TEST(AuthenticatorChallenge, OffersBothSchemes) {
  EXPECT_EQ(challenge, "Basic realm=\"storygate\", Bearer realm=\"storygate\"");
}

// --------------------------------------------------------- remembered_credential

TEST(RememberedCredential, MatchesOnlyTheHeaderRemembered) {
  remembered_credential last;
  EXPECT_FALSE(last.matches(""));
  EXPECT_FALSE(last.matches("Bearer abc"));
  last.remember("Bearer abc");
  EXPECT_TRUE(last.matches("Bearer abc"));
  EXPECT_FALSE(last.matches("Bearer abd"));
  EXPECT_FALSE(last.matches("Bearer ab"));
  EXPECT_FALSE(last.matches("Bearer abcd"));
  EXPECT_FALSE(last.matches(""));
  last.remember("Bearer xyz");
  EXPECT_FALSE(last.matches("Bearer abc"));
  EXPECT_TRUE(last.matches("Bearer xyz"));
}

// One connection's requests, each with a header drawn from accepted ones,
// near misses of them (a byte changed, cut, lengthened; the scheme in
// another case or with more spaces, which are still accepted), other
// schemes and none: remembering the last accepted header never changes a
// verdict from the one a fresh check gives.
TEST(RememberedCredential, GeneratedRequestsOnOneConnectionGetTheVerdictsOfAFreshCheck) {
  const unsigned seed = 20261208;
  std::mt19937 random(seed);
  authenticator a;
  a.add_bearer_token("token-one-4f1c");
  a.add_bearer_token("token-two-98aa");
  a.add_basic("ann:s3cret");
  const std::vector<std::string> accepted = {"Bearer token-one-4f1c", "Bearer token-two-98aa",
                                             basic("ann:s3cret"), "bearer token-one-4f1c",
                                             "Bearer   token-two-98aa"};
  const auto near_miss = [&](std::string h) {
    switch (random() % 4) {
      case 0: h[random() % h.size()] ^= static_cast<char>(1 + random() % 127); break;
      case 1: h.resize(random() % h.size()); break;
      case 2: h += static_cast<char>('!' + random() % 90); break;
      default: h = "Digest " + h.substr(h.find(' ') + 1);
    }
    return h;
  };
  remembered_credential last;
  for (int n = 0; n < 20000; ++n) {
    const auto& base = accepted[random() % accepted.size()];
    const std::string header = random() % 2 ? base : random() % 10 ? near_miss(base) : std::string();
    ASSERT_EQ(a.check(header, last), a.check(header))
        << "seed " << seed << ", request " << n << ": " << header;
  }
}

TEST(RememberedCredential, NothingIsRememberedWithoutCredentials) {
  authenticator open;
  remembered_credential last;
  EXPECT_EQ(open.check("Bearer anything", last), verdict::accepted);
  EXPECT_FALSE(last.matches("Bearer anything"));
}

}  // namespace
}  // namespace storygate::auth
