#include "http/address_limit.h"

#include <gtest/gtest.h>

#include <vector>

namespace storygate::http {
namespace {

const auto client = boost::asio::ip::make_address("192.0.2.10");
const auto other = boost::asio::ip::make_address("2001:db8::1");

TEST(AddressLimit, AdmitsUpToTheCapFromOneAddress) {
  address_limit limit(2);
  auto first = limit.admit(client);
  auto second = limit.admit(client);
  EXPECT_TRUE(first);
  EXPECT_TRUE(second);
  EXPECT_FALSE(limit.admit(client));
  EXPECT_EQ(limit.open_from(client), 2u);
}

TEST(AddressLimit, OtherAddressesHaveTheirOwnShare) {
  address_limit limit(1);
  auto held = limit.admit(client);
  EXPECT_FALSE(limit.admit(client));
  EXPECT_TRUE(limit.admit(other));
}

TEST(AddressLimit, APlaceComesBackWhenTheLastCopyGoes) {
  address_limit limit(1);
  auto held = limit.admit(client);
  auto copy = held;
  held.reset();
  EXPECT_FALSE(limit.admit(client));  // the copy still holds it
  copy.reset();
  EXPECT_EQ(limit.open_from(client), 0u);
  EXPECT_TRUE(limit.admit(client));
}

TEST(AddressLimit, ZeroMeansNoCap) {
  address_limit limit(0);
  std::vector<std::shared_ptr<void>> held;
  for (int i = 0; i < 1000; ++i) held.push_back(limit.admit(client));
  for (const auto& h : held) EXPECT_TRUE(h);
}

}  // namespace
}  // namespace storygate::http
