#include "auth/fingerprint.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>

#include "auth/authenticator.h"

namespace storygate::auth {
namespace {

const std::string key_a(32, 'a');
const std::string key_b(32, 'b');

TEST(Fingerprint, SameCredentialSameNameWhateverItsSpelling) {
  set_client_key(key_a);
  EXPECT_EQ(client_fingerprint("Bearer tok"), client_fingerprint("bearer   tok "));
  // Basic is compared decoded: dXNlcjpwdw== is user:pw.
  EXPECT_EQ(client_fingerprint("Basic dXNlcjpwdw=="), client_fingerprint("BASIC dXNlcjpwdw=="));
  EXPECT_NE(client_fingerprint("Bearer tok"), client_fingerprint("Bearer tok2"));
  EXPECT_EQ(client_fingerprint("Bearer tok").size(), 32u);
}

TEST(Fingerprint, DependsOnTheKeySoReplicasMustShareIt) {
  set_client_key(key_a);
  const auto with_a = client_fingerprint("Bearer tok");
  set_client_key(key_b);
  EXPECT_NE(client_fingerprint("Bearer tok"), with_a);
  set_client_key(key_a);
  EXPECT_EQ(client_fingerprint("Bearer tok"), with_a);
}

TEST(Fingerprint, IsNotABareHashOfTheHeader) {
  set_client_key(key_a);
  unsigned char digest[32];
  const std::string header = "Bearer tok";
  EVP_Digest(header.data(), header.size(), digest, nullptr, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string bare;
  for (int i = 0; i < 16; ++i) bare += std::string{hex[digest[i] >> 4], hex[digest[i] & 0xf]};
  EXPECT_NE(client_fingerprint(header), bare);
}

TEST(Fingerprint, ShortKeysAreRefused) {
  EXPECT_THROW(set_client_key("short"), credentials_error);
}

TEST(Authorization, ReadsTheCanonicalCredential) {
  const auto bearer = read_authorization("bEaReR  tok ");
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->scheme, "bearer");
  EXPECT_EQ(bearer->secret, "tok");
  const auto basic = read_authorization("Basic dXNlcjpwdw==");
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->scheme, "basic");
  EXPECT_EQ(basic->secret, "user:pw");
  EXPECT_FALSE(read_authorization(""));
  EXPECT_FALSE(read_authorization("Bearer"));
  EXPECT_FALSE(read_authorization("Digest abc"));
}

}  // namespace
}  // namespace storygate::auth
