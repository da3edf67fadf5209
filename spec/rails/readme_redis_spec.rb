# frozen_string_literal: true

require_relative "rails_helper"

# The README's "From Ruby" Redis example, run as written (read from README.md) in the Rails 6.1
# app, on a throwaway redis-server, with a sites table holding what real ones hold: URLs, a nil
# and a malformed one.
RSpec.describe "The README's Redis example", :rails, timeout: 120 do
  before(:context) { @redis = RailsSpec::RedisServer.new.start }
  after(:context) { @redis&.stop }

  let(:example_code) do
    readme = File.read(File.join(TestSite::ROOT, "README.md"))
    readme[/From Ruby \(any number of processes.*?```ruby\n(.*?)```/m, 1] or raise "README: Redis example not found"
  end

  it "crawls into the app's Page model, skipping rows without a valid URL" do
    Site.delete_all
    Page.delete_all
    create_sites(3, path: "/page/%<n>d.html")
    Site.create!(url: nil)
    Site.create!(url: "not a url")
    previous = ENV.fetch("REDIS_URL", nil)
    ENV["REDIS_URL"] = @redis.url

    stats = TOPLEVEL_BINDING.eval(example_code)

    expect(stats).to include(pending: 0, leased: 0, failed: 0, finished: true)
    expect(stats[:done]).to be > 3
    expect(Page.count).to eq(stats[:done])
    expect(Page.where(created_at: nil).or(Page.where(updated_at: nil))).to be_empty
    expect(Page.where(url: site_url("/page/1.html")).pick(:title, :status)).to match([start_with("Page 1"), 200])
  ensure
    ENV["REDIS_URL"] = previous
    UcrawlerNative::RedisFrontier.new(url: @redis.url, name: "catalog-2026-11").clear
  end
end
