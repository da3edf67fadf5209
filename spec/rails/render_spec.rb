# frozen_string_literal: true

require_relative "rails_helper"

# `render:` from a model: a row whose site builds its page in JavaScript gets the rendered
# title, both through crawl_and_update and crawl { |record, page| } (Debian's chromium, which
# bin/setup installs).
RSpec.describe "render from a model" do
  before { Site.delete_all }

  it "crawl_and_update writes the title the page's scripts build" do
    shell = Site.create!(url: site_url("/render/"))
    plain = Site.create!(url: site_url("/"))
    Site.crawl_and_update(render: :auto)

    expect(shell.reload.title).to eq("Render: home")
    expect(plain.reload.title).to be_present
  end

  it "without render the shell has no title" do
    shell = Site.create!(url: site_url("/render/"))
    Site.crawl_and_update(render: false)
    expect(shell.reload.title).to be_blank
  end

  it "crawl { |record, page| } yields the rendered pages of each row's site" do
    site = Site.create!(url: site_url("/render/"))
    pages = []
    Site.crawl(render: :auto, depth: 1) { |record, page| pages << [record.id, page.url, page.rendered?] }

    expect(pages.map { |_, url, _| url }).to match_array([site_url("/render/"), *(1..12).map { |i| site_url("/render/p/#{i}") }])
    expect(pages).to all(satisfy { |id, _, rendered| id == site.id && rendered })
  end
end
