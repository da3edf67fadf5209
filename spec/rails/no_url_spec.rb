# frozen_string_literal: true

require_relative "rails_helper"

# Rows whose URL column is nil or empty: counted in every crawl's stats, and marked by
# crawl_and_update's mapping (error kind "no_url", a :now column), so that
# `where(crawled_at: nil).crawl_later` does not enqueue them forever.
RSpec.shared_examples "rows without a URL" do
  before { Site.delete_all }

  def sites_with_and_without_urls
    with = create_sites(2)
    without = [Site.create!(url: nil), Site.create!(url: "")]
    [with, without]
  end

  it "are counted by crawl, crawl_ids and crawl_and_update" do
    sites_with_and_without_urls
    expect(Site.crawl_ids { |_, _| nil }).to include(seeds: 2, no_url: 2)
    expect(Site.crawl { |_, _| nil }).to include(seeds: 2, no_url: 2)
    expect(Site.crawl_and_update(title: :title)).to include(seeds: 2, no_url: 2, rows_written: 4)
  end

  it "are marked by the mapping: error kind no_url, a time, nil for page fields, callables called" do
    with, without = sites_with_and_without_urls
    started = Time.current.floor(6) - 1

    Site.crawl_and_update(title: :title, http_status: :status, crawl_error: :error, crawled_at: :now,
                          note: ->(page) { "#{page.error&.message}|#{page.links.size}" }, batch_size: 3)

    without.each do |site|
      expect(site.reload).to have_attributes(title: nil, http_status: nil, crawl_error: "no_url",
                                             crawled_at: be >= started, note: "no URL in column url|0")
    end
    expect(Site.where(id: with.map(&:id)).pluck(:http_status, :crawl_error)).to all(eq([200, nil]))
  end

  it "are not enqueued again once a job has marked them" do
    sites_with_and_without_urls

    expect(Site.where(crawled_at: nil).crawl_later(with: "update", ids_per_job: 10)).to eq(1)
    expect(eventually(limit: 30) { Site.where(crawled_at: nil).none? }).to be(true)
    expect(Site.where(crawl_error: "no_url").count).to eq(2)
    expect(Site.where(crawled_at: nil).crawl_later(with: "update")).to eq(0)
  end
end

RSpec.describe "Rows without a URL on SQLite", :rails do
  it_behaves_like "rows without a URL"
end

RSpec.describe "Rows without a URL on PostgreSQL", :rails do
  before(:context) do
    skip RailsSpec::POSTGRES_SKIP unless RailsSpec::POSTGRES_URL
    RailsSpec.use_postgres
  end

  after(:context) { RailsSpec.use_sqlite }

  it_behaves_like "rows without a URL"
end
